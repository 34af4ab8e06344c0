"""The local MLServer starts only what zenprovision uses: no metrics server, no worker pool."""

import json

from zenprovision.blocks.local import _write_settings


def test_mlserver_reads_our_settings_with_metrics_and_workers_off(tmp_path):
    from mlserver.settings import Settings  # MLServer's import takes a second: not at collection

    written = _write_settings(tmp_path, 8123)
    on_disk = json.loads((tmp_path / "settings.json").read_text())
    assert on_disk == written
    settings = Settings(**on_disk)  # MLServer's own model: the keys are ones it knows
    assert settings.metrics_endpoint is None  # MLServer then creates no MetricsServer
    assert settings.parallel_workers == 0
    assert settings.http_port == 8123 and settings.host == "127.0.0.1"
