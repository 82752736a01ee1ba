// The checks an OCSF 1.3 consumer applies to a Detection Finding (class 2004), written from the OCSF
// schema (Base Event + Detection Finding + the objects used): required attributes, enum ranges, and the
// derived values (type_uid = class_uid * 100 + activity_id). No official schema package is on npm.

const isInt = (value: unknown): value is number => Number.isInteger(value);
const isString = (value: unknown): value is string => typeof value === 'string' && value.length > 0;

export function validateDetectionFinding(event: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const need = (path: string, ok: boolean) => {
    if (!ok) problems.push(path);
  };
  const get = (path: string): unknown =>
    path
      .split('.')
      .reduce<unknown>(
        (value, key) => (value as Record<string, unknown> | undefined)?.[key],
        event,
      );
  need('class_uid = 2004', event.class_uid === 2004);
  need('category_uid = 2', event.category_uid === 2);
  need('activity_id in 0..3 or 99', [0, 1, 2, 3, 99].includes(event.activity_id as number));
  need(
    'type_uid = class_uid*100+activity_id',
    event.type_uid === 2004 * 100 + (event.activity_id as number),
  );
  need('time: integer ms', isInt(event.time) && (event.time as number) > 0);
  need(
    'severity_id in 0..6 or 99',
    [0, 1, 2, 3, 4, 5, 6, 99].includes(event.severity_id as number),
  );
  need(
    'status_id in 0..4 or 99',
    event.status_id === undefined || [0, 1, 2, 3, 4, 99].includes(event.status_id as number),
  );
  need('metadata.version', isString(get('metadata.version')));
  need('metadata.product.vendor_name', isString(get('metadata.product.vendor_name')));
  need('finding_info.uid', isString(get('finding_info.uid')));
  need('finding_info.title', isString(get('finding_info.title')));
  const analyticType = get('finding_info.analytic.type_id');
  need(
    'finding_info.analytic.type_id in 0..5 or 99',
    analyticType === undefined || [0, 1, 2, 3, 4, 5, 99].includes(analyticType as number),
  );
  const attacks = get('finding_info.attacks');
  if (attacks !== undefined) {
    need('finding_info.attacks: array', Array.isArray(attacks));
    for (const [index, attack] of (attacks as Record<string, { uid?: unknown }>[]).entries()) {
      need(
        `finding_info.attacks[${index}] has technique or tactic`,
        attack.technique !== undefined || attack.tactic !== undefined,
      );
      if (attack.technique)
        need(
          `finding_info.attacks[${index}].technique.uid`,
          /^T\d{4}$/.test(String(attack.technique.uid)),
        );
      if (attack.sub_technique)
        need(
          `finding_info.attacks[${index}].sub_technique.uid`,
          /^T\d{4}\.\d{3}$/.test(String(attack.sub_technique.uid)),
        );
      if (attack.tactic)
        need(
          `finding_info.attacks[${index}].tactic.uid`,
          /^TA\d{4}$/.test(String(attack.tactic.uid)),
        );
    }
  }
  const device = get('device') as Record<string, unknown> | undefined;
  if (device)
    need(
      'device.type_id in 0..15 or 99',
      [...Array(16).keys(), 99].includes(device.type_id as number),
    );
  const evidences = get('evidences');
  if (evidences !== undefined)
    need('evidences: non-empty array', Array.isArray(evidences) && evidences.length > 0);
  return problems;
}
