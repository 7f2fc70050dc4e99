import depots.Geo;
import java.util.List;
import java.util.Map;

public final class MigrationCheck {
  private static int failures = 0;

  private static void check(boolean ok, String what) {
    System.out.println((ok ? "ok   " : "FAIL ") + what);
    if (!ok) failures++;
  }

  private static Map<String, Object> depot(String id, double lat, double lon) {
    return Map.of("depot_id", id, "location", Map.<String, Object>of("lat", lat, "lon", lon));
  }

  public static void main(String[] args) {
    Map<String, Object> lyon = depot("LYS1", 45.76, 4.84);
    Map<String, Object> paris = depot("PAR1", 48.86, 2.35);
    Map<String, Object> marseille = depot("MRS1", 43.30, 5.37);
    double km = Geo.distanceKm(lyon, paris);
    check(km > 385 && km < 400, "Lyon to Paris is about 392 km: " + km);
    check(Geo.distanceKm(paris, paris) == 0.0, "distance to itself");
    check(Geo.nearest(lyon, List.of(paris, lyon, marseille)).equals("MRS1"), "nearest depot");
    if (failures > 0) System.exit(1);
  }
}
