package warehouse;

import java.util.List;
import java.util.Map;

/** Where the client reads rows from: the warehouse service, or a fixture in tests. */
public interface Source {
  List<Map<String, String>> rows(String dataset);
}
