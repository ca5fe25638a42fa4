"""Trainings: the agreement cycle's trainings domain."""
