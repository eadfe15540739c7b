"""Fault actions, one module per fault family; each records its inverse before it mutates."""
