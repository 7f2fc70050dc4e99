package rides;

import java.time.Instant;
import java.time.format.DateTimeParseException;

/** Timestamps of the rides dataset: ISO 8601 instants ("2026-11-23T14:05:09Z"). */
public final class RideParser {
  private RideParser() {}

  public static Instant parseTimestamp(String value) {
    try {
      return Instant.parse(value);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("malformed rides timestamp: \"" + value + "\"", e);
    }
  }
}
