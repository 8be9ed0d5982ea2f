package org.seqcore;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import org.seqcore.internal.SeqcoreNative;

/**
 * The plugins this library knows: every layer, recurrent block, quantizer and
 * memory a model file may name.
 *
 * <pre>{@code
 * for (PluginInfo p : Registry.plugins()) {
 *   System.out.println(p.name() + ": " + p.summary());
 * }
 * }</pre>
 */
public final class Registry {
  private Registry() {}

  /** The number of registered plugins. */
  public static int count() {
    return Math.toIntExact(SeqcoreNative.registry_count());
  }

  /** Every registered plugin, in registry order (unmodifiable). */
  public static List<PluginInfo> plugins() {
    List<PluginInfo> list = new ArrayList<>();
    for (long i = 0, n = SeqcoreNative.registry_count(); i < n; i++) {
      list.add(new PluginInfo(SeqcoreNative.registry_name(i),
          PluginKind.fromCode(SeqcoreNative.registry_kind(i)), SeqcoreNative.registry_version(i),
          SeqcoreNative.registry_summary(i)));
    }
    return Collections.unmodifiableList(list);
  }

  /**
   * A plugin's descriptor as JSON: config schema, weights, state layout,
   * capabilities.
   *
   * @param name the full name ("recurrent/lstm")
   * @throws SeqcoreException {@link Status#NOT_FOUND} (no such plugin)
   */
  public static String describe(String name) {
    Objects.requireNonNull(name, "name is null");
    return SeqcoreNative.registry_describe(name);
  }
}
