"""The KIND[SPLIT]:PATH dispatcher (edge_affect/data/loaders/__init__.py)."""

from pathlib import Path

import pytest

from edge_affect.data.loaders import LOADERS, load_dataset, parse_data_arg
from edge_affect.errors import InputError


def test_parse_kinds_aliases_and_paths():
    assert parse_data_arg("fer2013:data/fer2013.csv") == ("fer2013", None, Path("data/fer2013.csv"))
    assert parse_data_arg("FER2013[PublicTest]:x.csv") == ("fer2013", "PublicTest", Path("x.csv"))
    assert parse_data_arg("ck+:C:\\data\\ck") == ("ckplus", None, Path("C:\\data\\ck"))
    assert parse_data_arg("afew-va:/d")[0] == "afew_va"
    assert set(LOADERS) == {"fer2013", "affectnet", "afew_va", "genki4k", "ckplus", "jaffe", "image_folder"}


@pytest.mark.parametrize("text, message", [
    ("fer2013.csv", "expected KIND:PATH"),
    ("mnist:/data", "unknown dataset kind 'mnist'"),
    ("jaffe[test]:/data", "kind 'jaffe' has no splits"),
])
def test_bad_data_arguments(text, message):
    with pytest.raises(InputError, match=message):
        parse_data_arg(text)


def test_unknown_loader_option(tmp_path):
    with pytest.raises(InputError, match=r"jaffe loader options are \[\], got unknown \['usage'\]"):
        load_dataset(f"jaffe:{tmp_path}", usage="Training")
