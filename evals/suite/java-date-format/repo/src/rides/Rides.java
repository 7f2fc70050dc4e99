package rides;

import java.time.Duration;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

/** Figures over rides rows (column name to value). */
public final class Rides {
  private Rides() {}

  public static long durationSeconds(Map<String, String> ride) {
    return Duration.between(
            RideParser.parseTimestamp(ride.get("started_at")),
            RideParser.parseTimestamp(ride.get("ended_at")))
        .getSeconds();
  }

  /** Rides started per UTC hour of the day (index 0 to 23). */
  public static int[] startsPerHour(List<Map<String, String>> rides) {
    int[] hours = new int[24];
    for (Map<String, String> ride : rides) {
      hours[RideParser.parseTimestamp(ride.get("started_at")).atZone(ZoneOffset.UTC).getHour()]++;
    }
    return hours;
  }
}
