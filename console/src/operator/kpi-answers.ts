/** What the KPI queries share in the console: exact ratios, the question asked, and the typed refusals. */

export interface KpiRatio {
  numerator: string;
  denominator: string;
  value: string | null;
}

/** The inputs of one question to the hub, exactly as sent (docs/consoles.md explains the as-of date). */
export interface KpiQuestion {
  scope: { partnerId: string | null };
  period: { from: string; to: string };
  asOf?: string;
  segment?: { lifecycleStage?: string; enrolmentChannel?: string; tier?: string };
}

export type Refused = { __typename: 'InvalidInput' | 'UnknownPartner' | 'ScopeNotAllowed'; errorCode: string; message: string };

/** What a typed refusal means to the person who asked, with the hub's own explanation. */
const REFUSALS: Record<string, string> = {
  InvalidInput: 'The hub did not accept these inputs',
  UnknownPartner: 'There is no such partner',
  ScopeNotAllowed: 'Your token may not see these figures',
};

export function refusalText(result: { __typename: string; message?: string }): string {
  const lead = REFUSALS[result.__typename] ?? 'The hub refused';
  return `${lead}: ${result.message ?? result.__typename}.`.replace(/\.\.$/, '.');
}
