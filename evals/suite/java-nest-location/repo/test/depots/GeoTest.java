package depots;

import java.util.List;
import java.util.Map;

public final class GeoTest {
  private static int failures = 0;

  private static void check(boolean ok, String what) {
    System.out.println((ok ? "ok   " : "FAIL ") + what);
    if (!ok) failures++;
  }

  private static Map<String, Object> depot(String id, double lat, double lon) {
    return Map.of("depot_id", id, "lat", lat, "lon", lon);
  }

  public static void main(String[] args) {
    Map<String, Object> hamburg = depot("HAM1", 53.55, 9.99);
    Map<String, Object> bremen = depot("BRE1", 53.08, 8.80);
    Map<String, Object> munich = depot("MUC1", 48.14, 11.58);
    double km = Geo.distanceKm(hamburg, bremen);
    check(km > 90 && km < 100, "Hamburg to Bremen is about 95 km: " + km);
    check(Geo.nearest(hamburg, List.of(hamburg, bremen, munich)).equals("BRE1"), "nearest depot");
    if (failures > 0) System.exit(1);
  }
}
