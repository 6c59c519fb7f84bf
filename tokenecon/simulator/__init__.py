"""The marketplace simulator: data with known ground truth for demos, tests and model scoring.

``run_simulation`` (service.py) draws a world (world.py), runs the behavioural engine day by day
(engine.py), writes every purchase, top-up, refund and payout through the ledger services
(writer.py, ``tokenecon.services.bulk``) and computes and saves the truth
(truth_computation.py, truth_model.py; truth_queries.py answers from it). The behavioural model,
its parameters and the truth files' columns are stated in MODEL.md next to this file.
"""
