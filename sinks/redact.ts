// Keeps credentials out of logs and error messages: every secret a sink reads is registered here and
// replaced by [REDACTED] wherever it (or its base64 form in an Authorization header) would appear.

export const REDACTED = '[REDACTED]';

export class Redactor {
  private readonly secrets = new Set<string>();

  add(secret: string | undefined): void {
    if (secret === undefined || secret.length < 4) return;
    this.secrets.add(secret);
    this.secrets.add(Buffer.from(secret).toString('base64'));
  }

  /** Also covers "user:password" as it appears base64-encoded in a Basic header. */
  addBasic(username: string, password: string): void {
    this.add(password);
    this.add(`${username}:${password}`);
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join(REDACTED);
    return out.replace(/(authorization["']?\s*[:=]\s*["']?)(\S+ )?[^\s"',}]+/gi, `$1$2${REDACTED}`);
  }

  /** The message of any thrown value, redacted. */
  message(error: unknown): string {
    if (error instanceof Error) return this.redact(error.message);
    return this.redact(String(error));
  }
}
