"""Integration tests of the EvidenceRegistry contract on a real anvil node."""
