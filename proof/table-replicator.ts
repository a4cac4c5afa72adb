import { paginateScan, PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * A global table's replication between two dynalite servers, for the tests: every `pollMs` it scans the source
 * table, and each item that changed is written to the target `lagMs` after it was seen, item by item, as
 * DynamoDB replicates (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-global-table-design.html).
 * While `down`, nothing reaches the target; what changed meanwhile arrives once it is up again.
 */
export class TableReplicator {
  /** Delay from a change seen in the source to its write in the target. */
  lagMs: number;
  /** A replica region that cannot be reached. */
  down = false;
  private readonly copied = new Map<string, string>();
  private readonly due = new Map<string, { readonly atMs: number; readonly item: Record<string, AttributeValue>; readonly body: string }>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly source: DynamoDBClient,
    private readonly target: DynamoDBClient,
    private readonly tableName: string,
    options: { readonly lagMs: number; readonly pollMs?: number },
  ) {
    this.lagMs = options.lagMs;
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.step()).catch(() => undefined);
    }, options.pollMs ?? 20);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async step(): Promise<void> {
    const nowMs = Date.now();
    for await (const page of paginateScan({ client: this.source }, { TableName: this.tableName, ConsistentRead: true })) {
      for (const item of page.Items ?? []) {
        const key = `${item['pk']?.S}\n${item['sk']?.S}`;
        const body = JSON.stringify(item);
        if (this.copied.get(key) === body || this.due.get(key)?.body === body) continue;
        this.due.set(key, { atMs: nowMs + this.lagMs, item, body });
      }
    }
    if (this.down) return;
    for (const [key, change] of this.due) {
      if (change.atMs > Date.now()) continue;
      await this.target.send(new PutItemCommand({ TableName: this.tableName, Item: change.item }));
      this.copied.set(key, change.body);
      this.due.delete(key);
    }
  }
}
