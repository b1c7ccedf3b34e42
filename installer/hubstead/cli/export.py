"""`hubstead export ...`: parse, call hubstead.export, present."""

import click


@click.group()
def export():
    """Carry this hub over to another engine."""


@export.command()
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="The values file to write.")
@click.option("--images", "images_dir", type=click.Path(file_okay=False),
              help="Also write one container build context per environment here.")
def z2jh(out, images_dir):
    """Zero to JupyterHub (Kubernetes): a values file for its Helm chart."""
    from ..export import z2jh as exporter

    data, contexts, skipped = exporter.export(out, images_dir)
    profiles = data["singleuser"]["profileList"]
    click.echo(f"Wrote {out}: {len(data['hub']['config']['Authenticator']['admin_users'])} admin(s), "
               f"{len(profiles)} profile(s). Next: docs/z2jh.md.")
    for context in contexts:
        click.echo(f"  build context {context} (docker build {context})")
    for why in skipped:
        click.echo(f"note: no build context: {why}", err=True)
