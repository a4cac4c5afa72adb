/**
 * The public function URLs' limits, declared once: the construct reserves the concurrency, the functions keep
 * the per-source budget. A function URL serves at most 10 requests a second per unit of reserved concurrency
 * (https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html, "Throttling"), and reserved
 * concurrency is taken from the account's pool, of which Lambda keeps 100 unreserved
 * (https://docs.aws.amazon.com/lambda/latest/api/API_PutFunctionConcurrency.html): a flood on either endpoint
 * can take no more than its reservation, and never the authorizer's share.
 */
export const PUBLIC_ENDPOINT_LIMITS = {
  /** GitHub sends a report per leak found, in batches: a handful a minute. */
  leakReports: { reservedConcurrency: 5, perSource: { perSecond: 10, burst: 50 } },
  /** A client reads its key at start and after a rotation notice. */
  delivery: { reservedConcurrency: 10, perSource: { perSecond: 5, burst: 20 } },
} as const;
