// The warehouse client library (a pinned copy of the in-house package).

export type Row = Record<string, string | number>;

/** Where rows come from: the warehouse service, or fixtures in tests. */
export interface Transport {
  rows(dataset: string): Row[];
}

export class DatasetClient {
  constructor(private readonly transport: Transport) {}

  /** @deprecated Loads the whole dataset with every column; use read(). Removed in 3.0. */
  async fetchAll(dataset: string): Promise<Row[]> {
    return this.transport.rows(dataset).map((row) => ({ ...row }));
  }

  /** The rows of `dataset`, one at a time, each with just `columns`. */
  async *read(dataset: string, options: { columns: string[] }): AsyncGenerator<Row> {
    if (options.columns.length === 0) throw new Error("read needs at least one column");
    for (const row of this.transport.rows(dataset)) {
      const narrow: Row = {};
      for (const column of options.columns) narrow[column] = row[column];
      yield narrow;
    }
  }
}
