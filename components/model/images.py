"""The images the platform chooses (platform/images.yaml), what Binary Authorization admits, and the checks
a stack's own images face.

* Admitted patterns: `<image>*` for each catalog entry (the Argo ones only where a team has pipelines), then
  the stack's `security.allowedImages`. Binary Authorization's AdmissionWhitelistPattern.name_pattern (API
  reference, v1beta1): "in the form registry/path/to/image ... a trailing * as a wildcard ... * wildcard does
  not match /, i.e., gcr.io/nginx* matches gcr.io/nginx@latest, but it does not match gcr.io/nginx/image. This
  also supports a trailing ** wildcard which matches subdirectories". `admitted` implements that; a pattern
  without a wildcard is taken to match only the same reference (the reference does not say more).
* An image without a registry is read the way the kubelet's runtime reads it (Docker's normalization,
  distribution/reference ParseNormalizedNamed): `name` is docker.io/library/name, `org/name` docker.io/org/name.
  Whether Binary Authorization normalizes the same way is not documented in the reference above, so the
  platform writes its own images fully qualified.
* Pinning: the trainer renders `reference`; a chart gets `pinned` values (kueue, jobset, kube-prometheus-stack
  and its subcharts, prometheus-adapter, argo-workflows).
* A team's `serving.image` that an enforcing policy would not admit is a config error: its pods would be
  refused at creation by the Binary Authorization admission webhook (CIS GKE 5.10.4).
* A production stack warns for every catalog image without a digest (advisory, not an error: a digest can
  only come from the registry, which the planning machine may not reach; platform/images.yaml says how).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Iterator, Optional

from .errors import Issue
from .schema import Platform
from .yaml_input import read_platform_data

IMAGES_FILE = Path(__file__).resolve().parents[2] / "platform" / "images.yaml"


@dataclass(frozen=True)
class Image:
    id: str
    image: str  # registry/path/name, fully qualified
    tag: str
    digest: Optional[str]
    chart: Optional[str]  # None: the platform renders it itself
    pin: dict  # kind of chart value (repository, tag, sha, digest) -> its path in the chart's values
    when: str  # "always" or "pipelines"

    @property
    def reference(self) -> str:
        """image:tag@digest where the digest is known, else image:tag."""
        return f"{self.image}:{self.tag}" + (f"@{self.digest}" if self.digest else "")

    @property
    def pattern(self) -> str:
        return f"{self.image}*"


@cache
def catalog() -> dict[str, Image]:
    raw = read_platform_data(IMAGES_FILE)
    return {e["id"]: Image(e["id"], e["image"], e["tag"], e.get("digest"), e.get("chart"), e.get("pin") or {},
                           e.get("when", "always")) for e in raw["images"]}


def in_use(platform: Platform) -> list[Image]:
    pipelines = any(t.pipelines for t in platform.teams)
    return [i for i in catalog().values() if i.when == "always" or (i.when == "pipelines" and pipelines)]


def admitted_patterns(platform: Platform) -> list[str]:
    """What the stack's Binary Authorization policy admits besides GKE's system images."""
    return [i.pattern for i in in_use(platform)] + list(platform.security.allowed_images)


def pinned(chart: str, values: dict) -> dict:
    """`values` (the model's, for `chart`) with each catalog image of the chart that has a digest pinned to it,
    at the values the chart's templates read: `tag` gets tag@digest (templates that write repository:tag),
    `sha` the digest's hex (templates that write tag@sha256:<sha>), `digest` the whole digest."""
    for image in catalog().values():
        if image.chart != chart or not image.digest:
            continue
        for key, path in image.pin.items():
            value = {"repository": image.image, "tag": f"{image.tag}@{image.digest}",
                     "sha": image.digest.removeprefix("sha256:"), "digest": image.digest}[key]
            *parents, last = path.split(".")
            node = values
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = value
    return values


def normalized(image: str) -> str:
    """A reference as the container runtime resolves it: registry, path and name, then :tag / @digest."""
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return image
    return f"docker.io/{image}" if rest else f"docker.io/library/{image}"


def admitted(image: str, patterns: list[str]) -> bool:
    ref = normalized(image)
    for pattern in patterns:
        if pattern.endswith("**"):
            if ref.startswith(pattern[:-2]):
                return True
        elif pattern.endswith("*"):
            if ref.startswith(pattern[:-1]) and "/" not in ref[len(pattern) - 1:]:
                return True
        elif ref == pattern:
            return True
    return False


def serving_image_issues(platform: Platform) -> Iterator[Issue]:
    if platform.security.binary_authorization != "enforce":
        return
    patterns = admitted_patterns(platform)
    for i, team in enumerate(platform.teams):
        if team.serving and not admitted(team.serving.image, patterns):
            repo = normalized(team.serving.image).split("@")[0]
            repo = repo.rsplit(":", 1)[0] if ":" in repo.rsplit("/", 1)[-1] else repo
            yield Issue(f"teams[{i}].serving.image",
                        f"{team.serving.image!r} is not admitted by the stack's Binary Authorization policy (enforce): "
                        "its pods would be refused at creation",
                        f"add {repo + '*'!r} to security.allowedImages (a trailing * matches its tags and digests), "
                        "or serve an image from a repository already admitted")


def digest_warnings(platform: Platform) -> list[Issue]:
    if platform.environment != "production":
        return []
    missing = [i for i in in_use(platform) if not i.digest]
    if not missing:
        return []
    return [Issue("platform/images.yaml",
                  f"{len(missing)} image(s) the platform chooses run by tag, not digest, in a production stack: "
                  + ", ".join(f"{i.image}:{i.tag}" for i in missing),
                  "fill each one's digest from the registry (crane digest <image>:<tag>) in platform/images.yaml")]
