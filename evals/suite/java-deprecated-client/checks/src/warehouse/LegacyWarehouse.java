package warehouse;

import java.util.List;
import java.util.Map;

/**
 * The first client API, as of the release that removes it.
 *
 * @deprecated use {@link WarehouseClient#scan}.
 */
@Deprecated
public final class LegacyWarehouse {
  public LegacyWarehouse(Source source) {}

  public List<Map<String, String>> query(String dataset) {
    throw new UnsupportedOperationException("LegacyWarehouse.query was removed: use WarehouseClient.scan");
  }
}
