"""``obspy-gen plugins``: what is installed, from which distribution, and whether it loads."""
import click

from obspy_gen import registry
from obspy_gen.cli.common import format_table


@click.command("plugins")
@click.option("--group", type=click.Choice(sorted(registry.GROUPS)), default=None,
              help="Only this group.")
def plugins_command(group):
    """List generator, Vs30 and site-metric plugins and their load status.

    \b
    Example:
      obspy-gen plugins --group generators
    """
    rows = []
    for g in ([group] if group else sorted(registry.GROUPS)):
        for info, state in registry.status(g):
            try:
                version = registry.load(g, info.name).version
            except registry.PluginLoadError:
                version = "?"
            rows.append([g, info.name, version, info.distribution, info.distribution_version,
                         state])
    if not rows:
        click.echo("no plugins installed")
        return
    click.echo(format_table(["group", "name", "version", "distribution", "dist_version",
                             "status"], rows))
