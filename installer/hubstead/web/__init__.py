"""The hubstead web service: a hub service at /services/hubstead/ (the hub starts it).

- app: the tornado application, its routes, and `main` (python -m hubstead.web);
- base: what every page and API handler shares: login through the hub (OAuth), JSON
  answers with one-line errors, blocking core calls run off the event loop;
- launch: Binder-style launch links, /v2/PROVIDER/SPEC -> build, start, land.

Handlers parse and present; what they do is in the core library (hubstead.builder...).
"""
