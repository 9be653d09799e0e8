import type { KyselyPlugin, RootOperationNode } from 'kysely';

/** What one statement does, as `kind table`: `update oauth_grants`, `insert oauth_revoked_tokens`. */
function describeStatement(node: RootOperationNode): string {
  const kind = node.kind.replace(/QueryNode$/, '').toLowerCase();
  // The first table the statement names: the one it writes, or reads from.
  const table = /"name":"([a-z_]+)"/.exec(JSON.stringify(node))?.[1] ?? '?';
  return `${kind} ${table}`;
}

/**
 * A Kysely plugin that writes down every statement the service runs (transactions' included), so
 * a test can count what one request or one revocation costs; `fail` makes statements matching it
 * throw before they run.
 */
export class StatementLog implements KyselyPlugin {
  readonly statements: string[] = [];
  fail: ((statement: string) => boolean) | undefined;

  transformQuery({ node }: { node: RootOperationNode }): RootOperationNode {
    const statement = describeStatement(node);
    if (this.fail?.(statement) === true) throw new Error(`statement refused by the test: ${statement}`);
    this.statements.push(statement);
    return node;
  }

  async transformResult<T>({ result }: { result: T }): Promise<T> {
    return result;
  }

  /** The statements run by `work`, those on `tables` only. */
  async during(work: () => Promise<unknown>, tables: readonly string[]): Promise<string[]> {
    const from = this.statements.length;
    await work();
    return this.statements.slice(from).filter((statement) => tables.includes(statement.split(' ')[1] ?? ''));
  }
}
