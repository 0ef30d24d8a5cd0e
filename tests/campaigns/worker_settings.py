"""Settings of the worker processes of tests/campaigns/test_worker.py: the test
settings, with campaign mail written to files (KITH_TEST_MAIL_DIR) by a backend the
test can hold, and small chunks."""

import os

from config.settings.test import *  # noqa: F403

EMAIL_BACKEND = "tests.campaigns.holding_mail.HoldingFileBackend"
EMAIL_FILE_PATH = os.environ["KITH_TEST_MAIL_DIR"]
CAMPAIGN_BATCH_SIZE = 50
# Tasks a worker sends (a wake-up after entries) go to the queue it works on, as in
# production where every process shares the default queue.
CELERY_TASK_DEFAULT_QUEUE = os.environ["KITH_TEST_QUEUE"]
