package inventory;

import java.util.List;

/** Read access to the storage mount: the lines of a file, or an exception when it is missing. */
public interface Storage {
  List<String> lines(String path);
}
