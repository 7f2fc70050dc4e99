package warehouse;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The first client API.
 *
 * @deprecated fetches every column; use {@link WarehouseClient#scan}. Removed in the next
 *     release.
 */
@Deprecated
public final class LegacyWarehouse {
  private final Source source;

  public LegacyWarehouse(Source source) {
    this.source = source;
  }

  /** Every row of `dataset`, all columns. */
  public List<Map<String, String>> query(String dataset) {
    return new ArrayList<>(source.rows(dataset));
  }
}
