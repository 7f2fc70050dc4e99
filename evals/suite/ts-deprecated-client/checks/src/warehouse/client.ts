// The warehouse client library, as of the release that removes fetchAll.

export type Row = Record<string, string | number>;

/** Where rows come from: the warehouse service, or fixtures in tests. */
export interface Transport {
  rows(dataset: string): Row[];
}

export class DatasetClient {
  constructor(private readonly transport: Transport) {}

  /** @deprecated Removed in 3.0. */
  async fetchAll(dataset: string): Promise<Row[]> {
    throw new Error(`DatasetClient.fetchAll was removed (asked for ${dataset}); use read()`);
  }

  /** The rows of `dataset`, one at a time, each with just `columns`. */
  async *read(dataset: string, options: { columns: string[] }): AsyncGenerator<Row> {
    if (options.columns.length === 0) throw new Error("read needs at least one column");
    for (const row of this.transport.rows(dataset)) {
      const narrow: Row = {};
      for (const column of options.columns) {
        if (!(column in row)) throw new Error(`${dataset} has no column ${column}`);
        narrow[column] = row[column];
      }
      yield narrow;
    }
  }
}
