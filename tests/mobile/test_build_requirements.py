"""What buildozer.spec asks python-for-android to put in the APK, checked offline.

Each requirement is either a recipe of the python-for-android release the
spec pins (at the version it pins), or a pure-Python package, which
python-for-android installs with pip as it does any name without a recipe. The recipes
are read from that release, installed here as a dev dependency; nothing is
compiled for Android (no SDK or NDK here): docs/mobile.md says what this
shows and what it does not.
"""

from __future__ import annotations

import ast
import configparser
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
# What the app needs built for Android: Python itself, Kivy, the sqlite3 and
# ssl modules, runtime permissions, AES-GCM for the sealed store, and Pillow
# to downscale photos (shared/images.py).
RECIPES = {"python3", "kivy", "sqlite3", "openssl", "android", "cryptography", "pillow"}
PURE_PYTHON = {"marshmallow", "certifi", "plyer", "uniseg"}


def spec() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "buildozer.spec", encoding="utf-8")
    return parser["app"]


def requirements() -> dict[str, str | None]:
    """The spec's requirements: name to the version pinned (None if not pinned)."""
    pinned: dict[str, str | None] = {}
    for item in spec()["requirements"].split(","):
        name, _, version = item.strip().partition("==")
        pinned[name.lower()] = version or None
    return pinned


def recipes() -> Path:
    folder = Path(str(metadata.distribution("python-for-android").locate_file(""))) / (
        "pythonforandroid/recipes"
    )
    assert folder.is_dir(), folder
    return folder


def recipe_dir(name: str) -> Path | None:
    """A recipe's folder, its name matched regardless of case as python-for-android
    does ("pillow" is the recipe Pillow)."""
    return next(
        (
            folder
            for folder in recipes().iterdir()
            if folder.name.lower() == name and folder.is_dir()
        ),
        None,
    )


def recipe(name: str) -> dict[str, Any]:
    """A recipe's literal class attributes (version, depends), read without importing it."""
    folder = recipe_dir(name)
    assert folder is not None, name
    tree = ast.parse((folder / "__init__.py").read_text(encoding="utf-8"))
    attributes: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for statement in node.body:
                if (
                    isinstance(statement, ast.Assign)
                    and len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name)
                ):
                    try:
                        value = ast.literal_eval(statement.value)
                    except ValueError:
                        continue  # computed: not needed here
                    attributes.setdefault(statement.targets[0].id, value)
    return attributes


def test_the_spec_pins_the_python_for_android_release_whose_recipes_are_read_here() -> None:
    tag = spec()["p4a.branch"]
    installed = metadata.version("python-for-android")
    assert tag.startswith("v") and Version(tag[1:]) == Version(installed), (tag, installed)


def test_every_requirement_is_a_recipe_of_that_release_or_a_pure_python_wheel() -> None:
    wanted = requirements()
    assert {name for name in wanted if recipe_dir(name) is not None} == RECIPES
    assert wanted.keys() - RECIPES == PURE_PYTHON

    for name in sorted(RECIPES):
        pinned = wanted[name]
        if pinned is not None:
            assert recipe(name)["version"] == pinned, f"{name}=={pinned} is not the recipe's"

    for name in sorted(PURE_PYTHON):
        # Installed here from the same index python-for-android's pip uses.
        wheel = metadata.distribution(name)
        tags = [
            line.split(":", 1)[1].strip()
            for line in (wheel.read_text("WHEEL") or "").splitlines()
            if line.startswith("Tag:")
        ]
        assert tags and all(tag.endswith("-none-any") for tag in tags), (name, tags)
        compiled = [str(file) for file in wheel.files or [] if file.suffix in (".so", ".pyd")]
        assert compiled == [], name
        pinned = wanted[name]
        assert pinned is None or wheel.version == pinned, (name, wheel.version, pinned)


def test_the_phones_python_cryptography_and_pillow_are_ones_the_shared_code_supports() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    python = Requirement(f"python{project['requires-python']}")
    assert Version(recipe("python3")["version"]) in python.specifier
    for name in ("cryptography", "pillow"):
        required = next(
            Requirement(line) for line in project["dependencies"] if Requirement(line).name == name
        )
        assert Version(recipe(name)["version"]) in required.specifier, name


def test_the_apk_asks_for_storage_only_where_the_camera_needs_it_and_never_for_the_camera_itself() -> (
    None
):
    # Read by the pinned python-for-android's own parser (its module runs
    # only inside a build, so the function is taken out of it alone).
    build = recipes().parent / "bootstraps/common/build/build.py"
    (parser,) = (
        node
        for node in ast.parse(build.read_text(encoding="utf-8")).body
        if isinstance(node, ast.FunctionDef) and node.name == "parse_permissions"
    )
    scope: dict[str, Any] = {}
    exec(compile(ast.Module([parser], []), str(build), "exec"), scope)
    declared = {
        permission["name"]: permission
        for permission in scope["parse_permissions"](spec()["android.permissions"].split(","))
    }
    # The photo's MediaStore entry needs it before Android 10 only (mobile/photos.py).
    assert declared["android.permission.WRITE_EXTERNAL_STORAGE"]["maxSdkVersion"] == "28"
    # The camera app takes the photo: a declared, ungranted CAMERA would make Android refuse it.
    assert "android.permission.CAMERA" not in declared
    assert "android.permission.INTERNET" in declared
