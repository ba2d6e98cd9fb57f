"""``obspy-gen plugins``: what is installed, from which distribution, and whether it loads."""
import click

from obspy_gen import registry
from obspy_gen.api import is_trainable
from obspy_gen.cli.common import format_table


@click.command("plugins")
@click.option("--group", type=click.Choice(sorted(registry.GROUPS)), default=None,
              help="Only this group.")
def plugins_command(group):
    """List generator, Vs30 and site-metric plugins and whether they load.

    Each plugin is imported together with the packages it requires; the status is "ok",
    "needs <package>" or "fails: <error>".

    \b
    Example:
      obspy-gen plugins --group generators
    """
    rows = []
    for g in ([group] if group else sorted(registry.GROUPS)):
        for info, state in registry.status(g):
            try:
                cls = registry.load(g, info.name)
                version, trainable = cls.version, "yes" if is_trainable(cls) else "no"
            except registry.PluginLoadError:
                version, trainable = "?", "?"
            rows.append([g, info.name, version, info.distribution, info.distribution_version,
                         trainable, state])
    if not rows:
        click.echo("no plugins installed")
        return
    click.echo(format_table(["group", "name", "version", "distribution", "dist_version",
                             "trainable", "status"], rows))
