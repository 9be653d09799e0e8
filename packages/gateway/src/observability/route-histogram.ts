import {
  Histogram,
  type HistogramConfiguration,
  type MetricObjectWithValues,
  type MetricValueWithName,
} from 'prom-client';

/** One label set's observations: the count in each bucket (not cumulative), their sum and count. */
export interface HistogramCell {
  readonly labels: Readonly<Record<string, string>>;
  readonly counts: number[];
  sum: number;
  count: number;
}

type Exposed<L extends string> = MetricObjectWithValues<MetricValueWithName<L>>;

/**
 * A prom-client histogram whose label sets are cells its caller keeps (one per route and status,
 * made once): an observation is a bucket search and three additions. prom-client's own `observe`
 * validates and hashes its label set on every call (about 1.5 us, the largest single cost of the
 * gateway's metrics per request); here that is paid once per cell. It registers and is exposed as
 * prom-client's histogram is, with the same lines (`_bucket` cumulative with `le`, `_sum`,
 * `_count`); label sets observed through prom-client's own `observe` are not exposed (the gateway
 * observes only through cells).
 */
export class CellHistogram<L extends string> extends Histogram<L> {
  readonly #name: string;
  readonly #help: string;
  readonly #bounds: readonly number[];
  readonly #cells: HistogramCell[] = [];

  constructor(config: HistogramConfiguration<L> & { readonly buckets: number[] }) {
    super(config);
    this.#name = config.name;
    this.#help = config.help;
    this.#bounds = [...config.buckets].sort((a, b) => a - b);
  }

  /** A new cell for `labels` (the caller keeps it: two cells of the same labels would be two series). */
  cell(labels: Readonly<Record<L, string>>): HistogramCell {
    const cell: HistogramCell = { labels, counts: this.#bounds.map(() => 0), sum: 0, count: 0 };
    this.#cells.push(cell);
    return cell;
  }

  /** Counts `value` in `cell` (a value over the last bound counts in `+Inf` only). */
  observeIn(cell: HistogramCell, value: number): void {
    const bounds = this.#bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= (bounds[i] as number)) {
        cell.counts[i] = (cell.counts[i] as number) + 1;
        break;
      }
    }
    cell.sum += value;
    cell.count += 1;
  }

  override async get(): Promise<Exposed<L>> {
    const metricName = `${this.#name}_bucket`;
    const values: {
      value: number;
      metricName: string;
      labels: Record<string, string | number>;
      exemplar?: null;
    }[] = [];
    for (const cell of this.#cells) {
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += cell.counts[i] as number;
        values.push({ value: cumulative, metricName, labels: { le: bound, ...cell.labels }, exemplar: null });
      });
      values.push({ value: cell.count, metricName, labels: { le: '+Inf', ...cell.labels }, exemplar: null });
      values.push({ value: cell.sum, metricName: `${this.#name}_sum`, labels: { ...cell.labels } });
      values.push({ value: cell.count, metricName: `${this.#name}_count`, labels: { ...cell.labels } });
    }
    // What prom-client's own histogram returns; its typings declare `type` a numeric enum and
    // `labels` without `le`, where the registry writes the string and the labels it is given.
    return {
      name: this.#name,
      help: this.#help,
      type: 'histogram',
      aggregator: 'sum',
      values,
    } as unknown as Exposed<L>;
  }

  /** What prom-client's registry reads for the text exposition (it prefers this to `get`). */
  getForPromString(): Promise<Exposed<L>> {
    return this.get();
  }

  override reset(): void {
    super.reset();
    // prom-client's constructor calls reset() before this class's fields exist.
    if (!(#cells in this)) return;
    for (const cell of this.#cells) {
      cell.counts.fill(0);
      cell.sum = 0;
      cell.count = 0;
    }
  }
}
