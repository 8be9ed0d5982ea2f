package org.seqcore;

/** One registry entry: a plugin implementing a kind of block. */
public final class PluginInfo {
  private final String name;
  private final PluginKind kind;
  private final long version;
  private final String summary;

  PluginInfo(String name, PluginKind kind, long version, String summary) {
    this.name = name;
    this.kind = kind;
    this.version = version;
    this.summary = summary;
  }

  /** The full name ("recurrent/lstm"), as model files name it. */
  public String name() {
    return name;
  }

  /** The kind of plugin. */
  public PluginKind kind() {
    return kind;
  }

  /** The version of its implementation. */
  public long version() {
    return version;
  }

  /** A one-line summary. */
  public String summary() {
    return summary;
  }

  /** The plugin's descriptor as JSON; see {@link Registry#describe(String)}. */
  public String describe() {
    return Registry.describe(name);
  }

  @Override
  public String toString() {
    return name + " v" + version + " (" + kind + "): " + summary;
  }
}
