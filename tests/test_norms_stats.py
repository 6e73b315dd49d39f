import math

import pytest

from device.biomech import Measure, asymmetry
from device.biomech import norms as norms_module
from device.biomech.groupstats import TableError, compare_groups, read_table
from device.cli import main
from device.protocol import FINGER_NAMES


def hand(norms, measure, z):
    norm = norms.measures[measure]
    return [Measure(measure, f, norm.mean[i] + z[i] * norm.sd[i], norm.unit, source="s")
            for i, f in enumerate(FINGER_NAMES)]


def test_default_norms_say_where_they_come_from():
    norms = norms_module.load()
    assert norms.clinical_use is False
    assert "literature approximations" in norms.provenance
    assert {"max_force_n", "reduction_rate", "independence", "tapping_rate_hz", "tapping_cv",
            "rom_flexion_extension_rad", "rom_abduction_adduction_rad"} <= set(norms.measures)
    assert all(n.source for n in norms.measures.values())
    thumb = Measure("max_force_n", "thumb", 67.0, "N", source="s")
    assert norms.z(thumb) == pytest.approx((67.0 - 55.0) / 12.0)


def test_asymmetry_is_the_norm_of_z_differences():
    norms = norms_module.load()
    left = hand(norms, "independence", [1, 0, 0, 0, 0])
    right = hand(norms, "independence", [0, 0, 0, 0, 0])
    assert asymmetry(norms, "independence", left, right).value == pytest.approx(1.0)
    left = hand(norms, "max_force_n", [1, 1, 1, 1, 1])
    right = hand(norms, "max_force_n", [-1, -1, -1, -1, -1])
    a = asymmetry(norms, "max_force_n", left, right)
    assert a.value == pytest.approx(math.sqrt(20))
    assert a.z_left == pytest.approx((1, 1, 1, 1, 1))
    right[3] = Measure("max_force_n", "ring", None, "N", source="s", note="clipped")
    missing = asymmetry(norms, "max_force_n", left, right)
    assert missing.value is None and "right ring" in missing.note


def test_bad_norms_file(tmp_path):
    path = tmp_path / "n.toml"
    path.write_text('format = "dystonia-norms/1"\nversion = "x"\nprovenance = "p"\n'
                    'clinical_use = false\n[measures.a]\nunit = "N"\nsource = "s"\n'
                    "mean = [1, 2, 3, 4, 5]\nsd = [1, 1, 0, 1, 1]\n")
    with pytest.raises(norms_module.NormsError, match=r"measures\.a\.sd"):
        norms_module.load(path)


TABLE = """participant\tgroup\taffected_hand\tasym_independence\tasym_force
P1\thealthy\tnone\t1.0\t0.5
P2\thealthy\tnone\t2.0\t2.5
P3\thealthy\tnone\t3.0\tNA
P4\tdystonic\tleft\t4.0\t1.5
P5\tdystonic\tright\t5.0\t0.8
P6\tdystonic\tleft\t6.0\t2.0
"""


def test_mann_whitney_with_benjamini_hochberg(tmp_path):
    path = tmp_path / "p.tsv"
    path.write_text(TABLE)
    report = compare_groups(read_table(path), groups=("healthy", "dystonic"))
    assert report.skipped == ["participant", "affected_hand"]
    ind, force = report.rows
    # complete separation of 3 vs 3: U = 0, exact two-sided p = 2 / C(6, 3) = 0.1
    assert ind.u == 0 and ind.p == pytest.approx(0.1) and ind.n == (3, 3)
    # force: healthy {0.5, 2.5} vs dystonic {0.8, 1.5, 2.0}: U = 3 of 6, p = 1
    assert force.n == (2, 3) and force.u == 3 and force.p == pytest.approx(1.0)
    # BH: ranks 1 and 2 of 2 -> 0.1 * 2 / 1 = 0.2 and 1.0
    assert ind.p_bh == pytest.approx(0.2) and force.p_bh == pytest.approx(1.0)
    assert ind.median == (2.0, 5.0)


def test_stats_command(tmp_path, capsys):
    path = tmp_path / "p.csv"
    path.write_text(TABLE.replace("\t", ","))
    assert main(["stats", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split("\t")[:3] == ["measure", "n_dystonic", "n_healthy"]
    assert out[1].startswith("asym_independence\t3\t3\t5\t2\t9\t0.1\t0.2\tno")
    out_file = tmp_path / "out.tsv"
    assert main(["stats", str(path), "--groups", "healthy,dystonic", "-o", str(out_file)]) == 0
    assert out_file.read_text().count("\n") == 3
    assert "left out: participant, affected_hand" in capsys.readouterr().err
    assert main(["stats", str(path), "--group-column", "cohort"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no column 'cohort'" in err[0]
    with pytest.raises(TableError, match="groups"):
        compare_groups(read_table(path), groups=("healthy", "patients"))
