// The one small error hierarchy of Ringside: every error has a stable `code`, a message naming the input,
// and an optional `cause`. Expected outcomes (an unmapped page) are returned values, not errors.

export type ErrorCode =
  | 'BAD_INPUT' // a file, argument or structure given by the user is malformed
  | 'TRUNCATED' // a file ends before a structure it announces
  | 'UNSUPPORTED' // a well-formed input Ringside does not handle (yet)
  | 'MEMORY_UNREADABLE' // a physical or virtual read could not be satisfied
  | 'GUEST_STRUCTURE' // guest memory does not hold what the kernel's types say it should
  | 'NOT_FOUND' // a symbol, type or kernel feature is absent
  | 'CAPABILITY' // a backend lacks what a plugin needs
  | 'BACKEND' // the hypervisor side failed (socket closed, QEMU gone)
  | 'INTERNAL'; // a bug in Ringside

export class RingsideError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad input from the user: a malformed, truncated or unsupported file or argument. CLI exit code 2. */
export class InputError extends RingsideError {
  constructor(
    message: string,
    readonly input: string,
    options?: {
      cause?: unknown;
      code?: 'BAD_INPUT' | 'TRUNCATED' | 'UNSUPPORTED';
      offset?: number;
    },
  ) {
    super(options?.code ?? 'BAD_INPUT', `${input}: ${message}`, options);
    this.offset = options?.offset;
  }
  readonly offset: number | undefined;
}

/** A read of guest memory that could not be satisfied: a hole in a dump, an unmapped page. */
export class MemoryError extends RingsideError {
  constructor(
    message: string,
    readonly address: bigint,
    readonly layer: string,
    options?: { cause?: unknown },
  ) {
    super('MEMORY_UNREADABLE', `${layer}: ${message} at 0x${address.toString(16)}`, options);
  }
}

/** Guest memory that contradicts the kernel's own types: a cycle, a wild pointer, an absurd count. */
export class GuestStructureError extends RingsideError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GUEST_STRUCTURE', message, options);
  }
}

export const isRingsideError = (error: unknown): error is RingsideError =>
  error instanceof RingsideError;
