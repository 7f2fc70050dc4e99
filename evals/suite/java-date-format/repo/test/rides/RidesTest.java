package rides;

import java.util.List;
import java.util.Map;

public final class RidesTest {
  private static int failures = 0;

  private static void check(boolean ok, String what) {
    System.out.println((ok ? "ok   " : "FAIL ") + what);
    if (!ok) failures++;
  }

  public static void main(String[] args) {
    Map<String, String> ride = Map.of("started_at", "11/23/2026 14:05", "ended_at", "11/23/2026 14:35");
    check(Rides.durationSeconds(ride) == 1800, "duration of a ride");
    int[] hours = Rides.startsPerHour(List.of(ride, Map.of("started_at", "11/24/2026 09:00", "ended_at", "11/24/2026 09:10")));
    check(hours[14] == 1 && hours[9] == 1, "starts per hour");
    boolean threw = false;
    try {
      RideParser.parseTimestamp("yesterday");
    } catch (IllegalArgumentException e) {
      threw = e.getMessage().contains("yesterday");
    }
    check(threw, "garbage is rejected, naming the value");
    if (failures > 0) System.exit(1);
  }
}
