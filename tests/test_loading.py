"""publish.load / load_package from a local folder: dtypes follow the Table Schema, field by field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

import publish
from tests.conftest import REPO

# pandas (and publish.loading, which needs it) is imported by the tests that use it, not when the
# file is collected: the unit run's other worker never pays for it.

TYPES_SCHEMA: dict[str, Any] = {
    "fields": [
        {"name": "id", "type": "string"},
        {"name": "count", "type": "integer"},
        {"name": "year", "type": "year"},
        {"name": "share", "type": "number", "decimalChar": ",", "groupChar": "."},
        {"name": "open", "type": "boolean", "trueValues": ["ja"], "falseValues": ["nein"]},
        {"name": "day", "type": "date"},
        {"name": "seen", "type": "datetime"},
        {"name": "seen_utc", "type": "datetime"},
        {"name": "month", "type": "yearmonth"},
        {"name": "status", "type": "string", "constraints": {"enum": ["geplant", "umgesetzt"]}},
        {"name": "at", "type": "time"},
    ],
    "missingValues": ["", "-"],
}
TYPES_CSV = (
    "id,count,year,share,open,day,seen,seen_utc,month,status,at\n"
    'a,12345678901234567,2024,"1.234,5",ja,2024-07-18,2024-07-18T10:30:00,2024-07-18T10:30:00Z,2022-12,umgesetzt,10:30:00\n'
    "b,,-,,nein,,,,,,\n"
)


def write_package(folder: Path, name: str, resources: dict[str, tuple[str, dict[str, Any] | None]]) -> Path:
    """A pulled-style Data Package folder: datapackage.json with inline schemas, plus CSV files."""
    folder.mkdir(parents=True)
    items = []
    for key, (text, schema) in resources.items():
        (folder / f"{key}.csv").write_text(text, encoding="utf-8")
        item: dict[str, Any] = {"name": key, "path": f"{key}.csv", "format": "csv"}
        if schema is not None:
            item["schema"] = schema
        items.append(item)
    (folder / "datapackage.json").write_text(json.dumps({"name": name, "resources": items}), encoding="utf-8")
    return folder


def test_every_table_schema_type_gets_its_dtype(tmp_path: Path) -> None:
    import pandas as pd

    write_package(tmp_path / "pulled" / "typen", "typen", {"types": (TYPES_CSV, TYPES_SCHEMA)})
    frame = publish.load("types", path=tmp_path / "pulled")
    expected = {
        "id": pd.StringDtype(),
        "count": pd.Int64Dtype(),
        "year": pd.Int64Dtype(),
        "share": pd.Float64Dtype(),
        "open": pd.BooleanDtype(),
        "day": "datetime64[ns]",
        "seen": "datetime64[ns]",
        "seen_utc": pd.DatetimeTZDtype("ns", "UTC"),
        "month": pd.PeriodDtype("M"),
        "status": pd.CategoricalDtype(["geplant", "umgesetzt"]),
        "at": pd.StringDtype(),
    }
    for field, dtype in expected.items():
        assert frame[field].dtype == dtype, field
    first, second = frame.iloc[0], frame.iloc[1]
    assert first["count"] == 12345678901234567  # no detour through float: exact
    assert first["share"] == pytest.approx(1234.5)
    assert bool(first["open"]) is True and bool(second["open"]) is False
    assert first["day"] == pd.Timestamp("2024-07-18")
    assert first["seen_utc"] == pd.Timestamp("2024-07-18T10:30:00", tz="UTC")
    assert first["month"] == pd.Period("2022-12", "M")
    assert first["status"] == "umgesetzt"
    # Every empty or "-" cell (the schema's missingValues) is missing, whatever the type.
    assert second.drop(["id", "open"]).isna().all()
    assert frame.attrs["resource"] == "types" and frame.attrs["dataset"] == "typen"


def test_shipped_schemas_give_the_dtypes_they_imply(tmp_path: Path) -> None:
    """The catalogue's own tables, as a pulled folder would hold them."""
    import pandas as pd

    resources = {}
    for key in ("projects", "phases"):
        schema = json.loads((REPO / f"schemas/{key}.schema.json").read_text(encoding="utf-8"))
        folder = "projects" if key == "projects" else "phases"
        resources[key] = ((REPO / f"datasets/{folder}/{key}.csv").read_text(encoding="utf-8"), schema)
    write_package(tmp_path / "p", "beispiel", resources)
    projects = publish.load("projects", path=tmp_path / "p")
    enum = ["geplant", "in Umsetzung", "umgesetzt"]
    assert projects["status"].dtype == pd.CategoricalDtype(enum)
    assert projects["quick_win"].dtype == pd.BooleanDtype()
    assert projects["start_year"].dtype == pd.Int64Dtype()
    assert projects["source_date"].dtype == "datetime64[ns]"
    assert projects["id"].dtype == pd.StringDtype()
    assert len(projects) == len((REPO / "datasets/projects/projects.csv").read_text().splitlines()) - 1
    phases = publish.load("phases", path=tmp_path / "p")
    assert phases["position"].dtype == pd.Int64Dtype()
    assert phases["start"].dtype == pd.PeriodDtype("M")
    assert phases.loc[phases["id"] == "fortfuehrung", "end"].isna().all()  # open-ended phase
    both = publish.load_package("beispiel", path=tmp_path / "p")
    assert list(both) == ["projects", "phases"]
    pd.testing.assert_frame_equal(both["phases"], phases)


def test_schema_dtypes_lists_one_dtype_per_field() -> None:
    import pandas as pd

    from publish.loading import schema_dtypes

    dtypes = schema_dtypes(TYPES_SCHEMA)
    assert list(dtypes) == [f["name"] for f in TYPES_SCHEMA["fields"]]
    assert dtypes["count"] == pd.Int64Dtype() and dtypes["month"] == pd.PeriodDtype("M")


def test_a_value_the_schema_does_not_allow_names_the_column(tmp_path: Path) -> None:
    from publish.loading import read_table

    path = tmp_path / "x.csv"
    path.write_text("open\nvielleicht\n", encoding="utf-8")
    schema = {"fields": [{"name": "open", "type": "boolean", "trueValues": ["ja"], "falseValues": ["nein"]}]}
    with pytest.raises(ValueError, match="column 'open' is not a valid boolean: 'vielleicht'"):
        read_table(path, schema)


def test_without_a_schema_pandas_infers(tmp_path: Path) -> None:
    import pandas as pd

    write_package(tmp_path / "f", "fremd", {"werte": ("a,b\n1,x\n2,\n", None)})
    frame = publish.load("fremd", path=tmp_path / "f")
    assert frame["a"].dtype == pd.Int64Dtype()
    assert frame["b"].isna().tolist() == [False, True]


def test_unknown_ambiguous_and_escaping_names_are_refused(tmp_path: Path) -> None:
    write_package(tmp_path / "d" / "eins", "eins", {"t": ("a\n1\n", None)})
    write_package(tmp_path / "d" / "zwei", "zwei", {"t": ("a\n2\n", None), "u": ("a\n3\n", None)})
    with pytest.raises(publish.DataNotFoundError, match="no dataset and no resource named 'nichts'"):
        publish.load("nichts", path=tmp_path / "d")
    with pytest.raises(publish.DataNotFoundError, match="resource 't' is in 2 datasets"):
        publish.load("t", path=tmp_path / "d")
    with pytest.raises(publish.DataNotFoundError, match="more than one table"):
        publish.load("zwei", path=tmp_path / "d")
    assert publish.load("zwei", resource="u", path=tmp_path / "d")["a"].tolist() == [3]
    # A descriptor that points outside the folder (hand-edited, or not written by pull) is refused.
    shutil.copyfile(tmp_path / "d/eins/t.csv", tmp_path / "secret.csv")
    descriptor = tmp_path / "d/eins/datapackage.json"
    descriptor.write_text(descriptor.read_text().replace('"path": "t.csv"', '"path": "../../secret.csv"'))
    with pytest.raises(publish.DataNotFoundError, match=r"contains '\.\.'"):
        publish.load("eins", path=tmp_path / "d")


def test_no_portal_and_no_path_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CKAN_URL", raising=False)
    with pytest.raises(publish.ConfigurationError, match="CKAN_URL"):
        publish.load("projects")
