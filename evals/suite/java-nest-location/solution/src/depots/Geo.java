package depots;

import java.util.List;
import java.util.Map;

/** Distances between rows of the depots dataset. */
public final class Geo {
  private static final double EARTH_RADIUS_KM = 6371.0;

  private Geo() {}

  /** Great-circle distance between two depots, in kilometres. */
  public static double distanceKm(Map<String, Object> a, Map<String, Object> b) {
    double lat1 = Math.toRadians(coordinate(a, "lat"));
    double lat2 = Math.toRadians(coordinate(b, "lat"));
    double dLat = lat2 - lat1;
    double dLon = Math.toRadians(coordinate(b, "lon") - coordinate(a, "lon"));
    double h = Math.pow(Math.sin(dLat / 2), 2)
        + Math.cos(lat1) * Math.cos(lat2) * Math.pow(Math.sin(dLon / 2), 2);
    return 2 * EARTH_RADIUS_KM * Math.asin(Math.sqrt(h));
  }

  /** The id of the depot nearest to `from` among `depots` (not `from` itself). */
  public static String nearest(Map<String, Object> from, List<Map<String, Object>> depots) {
    String best = null;
    double bestKm = Double.MAX_VALUE;
    for (Map<String, Object> depot : depots) {
      if (depot.get("depot_id").equals(from.get("depot_id"))) continue;
      double km = distanceKm(from, depot);
      if (km < bestKm) {
        bestKm = km;
        best = (String) depot.get("depot_id");
      }
    }
    return best;
  }

  /** "lat" or "lon" of a depot's nested location. */
  private static double coordinate(Map<String, Object> depot, String axis) {
    @SuppressWarnings("unchecked")
    Map<String, Object> location = (Map<String, Object>) depot.get("location");
    return (Double) location.get(axis);
  }
}
