import java.time.Instant;
import java.util.List;
import java.util.Map;
import rides.RideParser;
import rides.Rides;

public final class MigrationCheck {
  private static int failures = 0;

  private static void check(boolean ok, String what) {
    System.out.println((ok ? "ok   " : "FAIL ") + what);
    if (!ok) failures++;
  }

  public static void main(String[] args) {
    check(RideParser.parseTimestamp("2026-11-23T14:05:09Z").equals(Instant.ofEpochSecond(1795442709L)),
        "parses an ISO instant");
    Map<String, String> ride = Map.of("started_at", "2026-11-23T23:59:50Z", "ended_at", "2026-11-24T00:00:15Z");
    check(Rides.durationSeconds(ride) == 25, "duration exact to the second across midnight");
    int[] hours = Rides.startsPerHour(List.of(ride, Map.of("started_at", "2026-11-24T00:10:00Z", "ended_at", "2026-11-24T00:20:00Z")));
    check(hours[23] == 1 && hours[0] == 1, "starts per UTC hour");
    boolean threw = false;
    try {
      RideParser.parseTimestamp("11/23/2026 14:05");
    } catch (IllegalArgumentException e) {
      threw = e.getMessage().contains("11/23/2026 14:05");
    }
    check(threw, "the old format is rejected, naming the value");
    if (failures > 0) System.exit(1);
  }
}
