"""`hubstead build ...`: Binder-ready repositories into environments and launch links."""

import sys
import time

import click

from .common import emit_json, json_option

FOLLOW_INTERVAL = 0.5


class BuildGroup(click.Group):
    """`hubstead build REPO` builds; `hubstead build list|logs|cancel` manage builds."""

    def resolve_command(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["start", *args]
        return super().resolve_command(ctx, args)


@click.group(cls=BuildGroup)
def build():
    """Build a Binder-ready repository: hubstead build REPO [--ref REF] [--name ENV].

    REPO is a git URL (https://...) or a launch spec such as gh/OWNER/REPO[/REF]."""


@build.command("start", hidden=True)
@click.argument("repo")
@click.option("--ref", default=None, help="Branch, tag or commit (default: the repository's HEAD).")
@click.option("--name", "env_name", default=None,
              help="Build into this environment (users can pick it); default: one per repository.")
@click.option("--detach", is_flag=True, help="Start the build and return; follow it with `build logs ID -f`.")
@json_option
def start(repo, ref, env_name, detach, as_json):
    from ..builder import pipeline

    repo_url, ref = _repo_and_ref(repo, ref)
    plan = pipeline.plan(repo_url, ref, name=env_name)
    for line in plan.ignored:
        click.echo(f"note: ignored {line}", err=True)
    for line in plan.notes:
        click.echo(f"note: {line}", err=True)
    record = pipeline.request(plan, requested_by=_operator())
    if plan.ready is not None:
        click.echo(f"{repo_url} at {plan.commit[:12]} is built already (build {record.id}).", err=True)
    elif not detach and not as_json:
        record = _follow(record.id)
    _report(record, plan, as_json)


def _repo_and_ref(repo, ref):
    from ..builder import links

    if "://" in repo:
        return repo, ref or "HEAD"
    spec = links.parse_launch(repo, settings=links.load_settings())
    if not spec.ref and ref is None:
        raise click.UsageError(f"{repo}: this provider's links are not built from git here")
    return spec.repo_url, ref or spec.ref or "HEAD"


def _operator():
    import os

    return os.environ.get("SUDO_USER") or "root"


def _report(record, plan, as_json):
    from ..builder import links

    if as_json:
        emit_json({**record.as_dict(), "link": links.launch_link(record) if record.succeeded else None})
        sys.exit(0 if not record.done or record.succeeded else 1)
    if not record.done:
        click.echo(f"Build {record.id} is {record.state}: hubstead build logs {record.id} --follow")
        return
    if not record.succeeded:
        click.echo(f"error: build {record.id} {record.state}: {record.message}", err=True)
        click.echo(f"The log is kept: hubstead build logs {record.id}", err=True)
        sys.exit(1)
    where = f"environment {record.env}" + (f", build {record.build}" if record.build else "")
    click.echo(f"Built {record.repo} at {record.commit_id[:12]} into {where}.")
    click.echo(f"Launch link: {links.launch_link(record)}")


def _follow(build_id, offset=0):
    """Print the build's log as it grows until the build ends; return its record."""
    from ..builder import records

    try:
        while True:
            record = records.get(build_id)
            text, offset = records.read_log(build_id, offset)
            if text:
                click.echo(text, nl=False)
            if record.done:
                text, offset = records.read_log(build_id, offset)
                click.echo(text, nl=False)
                return record
            time.sleep(FOLLOW_INTERVAL)
    except KeyboardInterrupt:
        click.echo(f"\nBuild {build_id} goes on. Follow it: hubstead build logs {build_id} --follow; "
                   f"stop it: hubstead build cancel {build_id}", err=True)
        sys.exit(1)


@build.command("list")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100000))
@json_option
def list_(limit, as_json):
    """Builds, newest first: state, repository, commit, environment."""
    from ..builder import records

    found = records.all_records(limit)
    queue = {record.id: records.queue_position(record.id) for record in found if record.state == "queued"}
    if as_json:
        emit_json([{**record.as_dict(), "queue_position": queue.get(record.id)} for record in found])
        return
    for record in found:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.created))
        message = f"waiting for a build slot (number {queue[record.id]} in the queue)" if queue.get(record.id) \
            else record.message
        click.echo(f"{record.id}\t{record.state}\t{when}\t{record.repo}@{record.commit_id[:12]}\t{record.env}"
                   f"\t{message}")


@build.command()
@click.argument("build_id", type=int)
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the build ends.")
def logs(build_id, follow):
    """Print a build's log (kept after it ends)."""
    print_log(build_id, follow)


def print_log(build_id, follow=False):
    from ..builder import BuilderError, records

    record = records.get(build_id)
    if record is None:
        raise BuilderError(f"no build {build_id}; see `hubstead build list`")
    if follow:
        record = _follow(build_id)
        sys.exit(0 if record.succeeded else 1)
    text, _ = records.read_log(build_id, 0, limit=None)
    click.echo(text, nl=False)


@build.command()
@click.argument("build_id", type=int)
def cancel(build_id):
    """Stop a queued or running build; nothing it made is kept."""
    from ..builder import pipeline

    record = pipeline.cancel(build_id, by=_operator())
    click.echo(f"Cancelled build {record.id}.")
