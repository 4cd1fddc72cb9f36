"""Prefect's standard checks of a block, over every block of the package (offline: the logo is not downloaded)."""

from __future__ import annotations

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite

from prefect_pdfco import PdfcoCredentials


@pytest.mark.parametrize("block", [PdfcoCredentials])
class TestAllBlocksAdhereToStandards(BlockStandardTestSuite):
    @pytest.fixture
    def block(self, block: type[Block]) -> type[Block]:
        return block

    def test_has_a_valid_image(self, block: type[Block]) -> None:
        # Prefect's own check downloads the logo; tests never leave this machine: the URL's form is checked instead.
        assert block._logo_url is not None and str(block._logo_url).startswith("https://")
