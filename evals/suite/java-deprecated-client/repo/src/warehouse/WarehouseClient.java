package warehouse;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** The warehouse client. */
public final class WarehouseClient {
  private final Source source;

  public WarehouseClient(Source source) {
    this.source = source;
  }

  /** The rows of `dataset`, each with just `columns` (in that order). */
  public Stream<Map<String, String>> scan(String dataset, List<String> columns) {
    if (columns.isEmpty()) throw new IllegalArgumentException("scan needs at least one column");
    return source.rows(dataset).stream().map(row -> {
      Map<String, String> narrow = new LinkedHashMap<>();
      for (String column : columns) narrow.put(column, row.get(column));
      return narrow;
    });
  }
}
