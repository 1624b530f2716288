/** A partner id: also the `iss` of its instructions and the prefix of its program's assets. Same rule as the migration's CHECK. */
export const PARTNER_ID_PATTERN = /^[A-Z][A-Z0-9_]{1,31}$/;
