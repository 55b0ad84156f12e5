"""Helpers shared by the test suites (throwaway servers, factories)."""
