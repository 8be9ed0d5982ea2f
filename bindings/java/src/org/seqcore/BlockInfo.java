package org.seqcore;

/** One block of a model's graph: its name and the plugin that implements it. */
public final class BlockInfo {
  private final String name;
  private final String plugin;

  BlockInfo(String name, String plugin) {
    this.name = name;
    this.plugin = plugin;
  }

  /** The block's name in the graph ("rnn"). */
  public String name() {
    return name;
  }

  /** The plugin's full name ("recurrent/lstm"). */
  public String plugin() {
    return plugin;
  }

  @Override
  public String toString() {
    return name + " (" + plugin + ")";
  }
}
