package rides;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

/** Timestamps of the rides dataset. */
public final class RideParser {
  private static final DateTimeFormatter FORMAT = DateTimeFormatter.ofPattern("MM/dd/yyyy HH:mm");

  private RideParser() {}

  public static Instant parseTimestamp(String value) {
    try {
      return LocalDateTime.parse(value, FORMAT).toInstant(ZoneOffset.UTC);
    } catch (DateTimeParseException e) {
      throw new IllegalArgumentException("malformed rides timestamp: \"" + value + "\"", e);
    }
  }
}
