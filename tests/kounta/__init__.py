"""Tests of the Kounta client, its sandbox and webhooks."""
