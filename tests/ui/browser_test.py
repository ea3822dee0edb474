#!/usr/bin/python3
"""The web UI in a real browser (issue 9 §5): headless Chromium driven by WebDriver (Debian's
chromium-driver and python3-selenium) against the real daemon (`skynet queued` with the HTTP API
on a free loopback port and an admin key) and a private MariaDB (tests/support/mariadb-sandbox),
with the Aegir simulator as drush.

  browser_test.py --source DIR --skynet BIN --artifacts DIR [--skip TAG,...] [--only NAME,...]

Each scenario is a function below, run in order (later ones use what earlier ones created). A
scenario tagged with a daemon feature listed in --skip is reported as skipped, not run; with
--skip api (the daemon does not serve the API at all) nothing runs and the exit status is 77. Screenshots
of every page go to --artifacts (look at them: a page that renders but looks broken is a failure).
Exit status: 0 when every scenario that ran passed, 77 when none ran, 1 otherwise.
"""

import argparse
import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
import zoneinfo

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

ADMIN_KEY = 'ui-test-admin-key-5f1c9e'
SKIPPED = 77                    # the exit status for "nothing ran" (CTest's SKIP_RETURN_CODE)
BROWSER_ZONE = 'Europe/Zurich'  # the browser's zone: schedules typed in it must reach the API as UTC
WAIT = 20                       # seconds for anything the UI does by itself
RUN_WAIT = 90                   # seconds for the daemon to run something


class Failure(Exception):
    pass


def wait_for(what, condition, timeout=WAIT, interval=0.1):
    """Polls condition() until it returns something truthy; fails naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except (StaleElementReferenceException, AssertionError) as e:
            last_error = e
        if time.monotonic() > deadline:
            raise Failure(f'timed out after {timeout} s waiting for {what}'
                          + (f' (last: {getattr(last_error, "msg", None) or last_error})' if last_error else ''))
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Stack:
    """A private MariaDB with an Aegir database, and the daemon serving the API and the UI."""

    def __init__(self, source, skynet):
        self.source = source
        self.skynet = skynet
        self.work = tempfile.mkdtemp(prefix='skynet-ui-')
        self.db = os.path.join(self.work, 'db')
        self.home = os.path.join(self.work, 'home')
        self.exchange = os.path.join(self.work, 'exchange')
        self.conf = os.path.join(self.work, 'skynet.conf')
        self.log_path = os.path.join(self.work, 'skynet.log')
        self.sandbox = os.path.join(source, 'tests/support/mariadb-sandbox')
        self.drush = os.path.join(source, 'tests/aegir-sim/drush')
        self.daemon = None
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'

    def env(self):
        return {'HOME': self.home, 'USER': os.environ.get('USER', 'skynet-test'),
                'PATH': '/usr/local/bin:/usr/bin:/bin', 'LANG': 'C.UTF-8'}

    def start(self):
        subprocess.run([self.sandbox, 'start', self.db, '--owner-pid', str(os.getpid())], check=True)
        subprocess.run([self.sandbox, 'create-db', self.db, 'aegir'], check=True)
        os.makedirs(os.path.join(self.work, 'task-output'))
        os.makedirs(self.exchange)
        subprocess.run([os.path.join(self.source, 'tests/aegir-sim/write-home'), self.home,
                        os.path.join(self.db, 'mysqld.sock'), 'aegir', 'aegir', 'aegir-test-password'],
                       check=True)
        with open(self.conf, 'w') as f:
            f.write(f"""; Skynet for the browser tests
[database]
host = localhost
socket = {self.db}/mysqld.sock
db = aegir
user = aegir
passwd = aegir-test-password

[queue]
poll_interval = 1
drush = {self.drush}
kill_grace = 2
shutdown = kill

[log]
task_output = {self.work}/task-output

[runs]
workdir = {self.exchange}
timezone = UTC

[api]
listen = 127.0.0.1:{self.port}
admin_key = {ADMIN_KEY}
""")
        os.chmod(self.conf, 0o600)
        self.log = open(self.log_path, 'w')
        self.daemon = subprocess.Popen([self.skynet, 'queued', '-c', self.conf], env=self.env(),
                                       stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def answers():
            if self.daemon.poll() is not None:
                raise Failure(f'the daemon exited with {self.daemon.returncode}; its log:\n{self.daemon_log()}')
            try:
                return self.get('/api/run/list')[0] == 200
            except (urllib.error.URLError, ConnectionError):
                return False
        wait_for('the daemon to answer on ' + self.url, answers, timeout=60, interval=0.2)

    def stop(self):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.terminate()
            try:
                self.daemon.wait(20)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        subprocess.run([self.sandbox, 'stop', self.db], check=False)
        shutil.rmtree(self.work, ignore_errors=True)

    def daemon_log(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()

    def request(self, method, path, form=None, key=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if key:
            request.add_header('Authorization', f'Bearer {key}')
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def get(self, path, key=None):
        return self.request('GET', path, key=key)

    def json(self, path, key=None):
        status, body = self.get(path, key)
        if status != 200:
            raise Failure(f'GET {path}: {status} {body}')
        return json.loads(body)

    def run(self, run_id, key=None):
        return self.json(f'/api/run/{run_id}', key)[0]

    def sim(self, *args):
        return subprocess.run([self.drush, '@hostmaster', *args], env=self.env(), check=True,
                              capture_output=True, text=True).stdout.strip()

    def sql(self, statement):
        return subprocess.run([self.sandbox, 'sql', self.db, 'aegir', '-N', '-B'], input=statement,
                              check=True, capture_output=True, text=True).stdout.strip()


class RunningServer(Stack):
    """A server that is already running (--base-url), e.g. scripts/demo --keep: the scenarios
    that need the database or the daemon's log cannot run against it."""

    def __init__(self, url):
        super().__init__('', '')
        self.url = url.rstrip('/')
        os.makedirs(self.exchange)

    def start(self):
        pass

    def stop(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def daemon_log(self):
        return ''


class Browser:
    def __init__(self, base_url, profile, artifacts):
        self.base_url = base_url
        self.artifacts = artifacts
        options = webdriver.ChromeOptions()
        options.binary_location = '/usr/bin/chromium'
        for flag in ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                     '--disable-background-networking', '--disable-component-update', '--disable-sync',
                     '--disable-dev-shm-usage', f'--user-data-dir={profile}', '--window-size=1280,860',
                     '--lang=en-US']:
            options.add_argument(flag)
        environment = dict(os.environ, TZ=BROWSER_ZONE)  # the browser's own process, not the daemon's
        service = Service('/usr/bin/chromedriver', env=environment,
                          log_path=os.devnull)
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(30)

    def quit(self):
        self.driver.quit()

    # Navigation and synchronisation ---------------------------------------------------------------

    def rendered(self):
        return int(self.driver.find_element(By.TAG_NAME, 'body').get_attribute('data-rendered') or 0)

    def open(self, path):
        self.driver.get(self.base_url + path)
        wait_for(f'{path} to render', lambda: self.rendered() > 0)

    def wait_render_after(self, previous, what):
        wait_for(what, lambda: self.rendered() > previous)

    def find(self, selector, timeout=WAIT):
        return wait_for(f'an element {selector}', lambda: self.displayed(selector), timeout=timeout)

    def displayed(self, selector):
        for el in self.driver.find_elements(By.CSS_SELECTOR, selector):
            if el.is_displayed():
                return el
        return None

    def all(self, selector):
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def text(self, selector):
        return self.find(selector).text

    def click(self, selector):
        self.find(selector).click()

    def type(self, selector, text, clear=True):
        el = self.find(selector)
        if clear:
            el.clear()
        el.send_keys(text)
        return el

    def dialog_open(self):
        return self.driver.execute_script('return document.getElementById("dialog").open')

    def wait_dialog_closed(self, what):
        wait_for(what, lambda: not self.dialog_open())

    def screenshot(self, name, keep_toasts=False):
        if not keep_toasts:  # transient notes would hide part of the page
            self.driver.execute_script('document.getElementById("toasts").replaceChildren()')
        path = os.path.join(self.artifacts, f'{name}.png')
        self.driver.save_screenshot(path)
        return path

    def session_key(self):
        return self.driver.execute_script('return sessionStorage.getItem("skynet.adminKey")')

    def search(self, query):
        before = self.rendered()
        self.type('#search', query + Keys.ENTER)
        self.wait_render_after(before, f'the results of "{query}"')

    def table_rows(self, table):
        return self.all(f'#{table} tbody tr')

    def fill_form(self, values):
        for name, value in values.items():
            el = self.find(f'#field-{name}')
            if el.tag_name == 'select':
                el.find_element(By.XPATH, f'.//option[normalize-space(.)="{value}" or starts-with(normalize-space(.), "{value} ")]').click()
            else:
                el.clear()
                el.send_keys(value)


class Scenarios:
    """The scenarios, in the order they run. Tags name the daemon features a scenario needs beyond
    the API itself: dispatch (due jobs run), cron (recurring runs are created), cancel-running
    (a running job's process is killed), tasks (Aegir tasks are recorded as runs)."""

    def __init__(self, stack, browser):
        self.stack = stack
        self.b = browser
        self.ids = {}
        self.tokens = []

    def all(self):
        return [
            (self.pages_render_their_empty_states, set()),
            (self.a_wrong_admin_key_is_refused, set()),
            (self.create_projects_and_applications, set()),
            (self.a_bad_cron_expression_is_explained, set()),
            (self.a_run_executes_and_shows_succeeded_with_its_log, {'dispatch'}),
            (self.a_failing_run_shows_failed, {'dispatch'}),
            (self.schedule_at_a_local_time_then_cancel, set()),
            (self.cancel_a_running_run_while_its_log_refreshes, {'dispatch', 'cancel-running'}),
            (self.the_curl_commands_report_start_and_stop, set()),
            (self.the_token_is_shown_only_to_the_admin, set()),
            (self.a_recurring_schedule_produces_a_run, {'cron'}),
            (self.search_finds_by_category_and_by_free_text, set()),
            (self.filters_by_state, set()),
            (self.aegir_tasks_appear_with_site_and_type, {'tasks'}),
            (self.deleting_says_what_goes_with_it, set()),
            (self.usable_at_phone_width, set()),
            (self.pages_page_through_100000_runs, set()),
            (self.no_key_or_token_in_the_daemon_log, set()),
        ]

    # -------------------------------------------------------------------------------------------

    def pages_render_their_empty_states(self):
        for path, name, title in [('/', 'runs', 'No runs yet.'), ('/projects', 'projects', 'No projects yet.'),
                                  ('/applications', 'applications', 'No applications yet.')]:
            self.b.open(path)
            empty = self.b.find('#empty-state')
            assert title in empty.text, f'{path}: empty state says {empty.text!r}'
            assert not self.b.displayed('#load-error'), f'{path}: {self.b.text("#load-error")}'
            self.b.screenshot(f'empty-{name}')
        assert 'Create a project' in self.b.text('#empty-state'), 'the empty state says what to do next'

    def a_wrong_admin_key_is_refused(self):
        self.b.open('/projects')
        self.b.click('#sign-in')
        self.b.type('#admin-key-input', 'not-the-key' + Keys.ENTER)
        error = wait_for('the refusal', lambda: self.b.text('#admin-key-error'))
        assert 'Wrong admin key' in error, error
        self.b.screenshot('admin-key-refused')
        assert self.b.session_key() is None, 'a refused key is not kept'
        assert 'not-the-key' not in self.b.driver.current_url
        self.b.type('#admin-key-input', ADMIN_KEY + Keys.ENTER)
        self.b.wait_dialog_closed('the key dialog to close')
        self.b.find('#admin-badge')
        assert self.b.session_key() == ADMIN_KEY
        assert ADMIN_KEY not in self.b.driver.current_url

    def create_projects_and_applications(self):
        self.b.open('/projects')
        for name, title, description in [('climate', 'Climate models', 'Nightly simulations of the Alps'),
                                         ('spare', 'To be deleted', 'Holds one application')]:
            self.b.click('#new-project')
            self.b.fill_form({'name': name, 'title': title, 'description': description})
            self.b.click('#dialog-submit')
            self.b.wait_dialog_closed(f'the project {name} to be created')
            wait_for(f'project {name} in the table',
                     lambda: any(name in row.text for row in self.b.table_rows('projects-table')))
        # A duplicate name: the API's message is shown in the dialog, in words.
        self.b.click('#new-project')
        self.b.fill_form({'name': 'climate'})
        self.b.click('#dialog-submit')
        error = wait_for('the duplicate refused', lambda: self.b.text('#dialog-error'))
        assert 'climate' in error and '{' not in error, error
        self.b.click('.dialog-buttons .btn-outline-secondary')
        projects = {p['name']: p for p in self.stack.json('/api/project/list')}
        assert set(projects) == {'climate', 'spare'}, projects
        assert projects['climate']['directory'] == 'climate/', projects['climate']

        self.b.open('/applications')
        for project, name, command, extra in [
                ('climate', 'hello', 'echo hello-from-skynet', {}),
                ('climate', 'broken', 'echo it broke >&2; exit 3', {}),
                ('climate', 'sleeper', 'echo sleeping; sleep 300', {}),
                ('climate', 'ticker', 'echo tick', {'cron': '* * * * *'}),
                ('spare', 'spare-app', 'true', {})]:
            os.makedirs(os.path.join(self.stack.exchange, project, name), exist_ok=True)
            self.b.click('#new-application')
            self.b.fill_form({'project_id': project, 'name': name, 'command': command, **extra})
            self.b.click('#dialog-submit')
            self.b.wait_dialog_closed(f'the application {name} to be created')
            wait_for(f'application {name} in the table',
                     lambda: any(name in row.text for row in self.b.table_rows('applications-table')))
        apps = {a['name']: a for a in self.stack.json('/api/application/list')}
        assert set(apps) == {'hello', 'broken', 'sleeper', 'ticker', 'spare-app'}, apps
        assert apps['hello']['command'] == 'echo hello-from-skynet'
        assert apps['ticker']['cron'] == '* * * * *'
        self.ids = {name: app['id'] for name, app in apps.items()}
        self.b.open('/applications')
        self.b.find('#applications-table')
        self.b.screenshot('applications')
        self.b.open('/projects')
        wait_for('the application counts', lambda: '4 applications' in self.b.text('#projects-table'))
        self.b.screenshot('projects')

    def a_bad_cron_expression_is_explained(self):
        self.b.open('/applications')
        self.b.click('#new-application')
        self.b.fill_form({'project_id': 'climate', 'name': 'bad-cron', 'command': 'true', 'cron': '61 * * * *'})
        self.b.click('#dialog-submit')
        error = wait_for('the cron refused', lambda: self.b.text('#dialog-error'))
        assert 'cron' in error and 'minute' in error, error
        self.b.screenshot('application-bad-cron')
        self.b.click('.dialog-buttons .btn-outline-secondary')
        names = [a['name'] for a in self.stack.json('/api/application/list')]
        assert 'bad-cron' not in names, names

    def schedule_from_the_ui(self, app_name, at_local=None):
        """Schedules a run of `app_name` from its row; returns the new run's id (its page is open)."""
        self.b.open('/applications?q=' + urllib.parse.quote(f'name: {app_name}'))
        row = wait_for(f'the row of {app_name}', lambda: next(
            (r for r in self.b.table_rows('applications-table') if app_name in r.text), None))
        row.find_element(By.CSS_SELECTOR, '[data-action=schedule]').click()
        if at_local:
            self.b.click('#when-at')
            self.b.driver.execute_script('document.getElementById("schedule-at").value = arguments[0]', at_local)
        self.b.click('#dialog-submit')
        self.b.wait_dialog_closed('the schedule dialog to close')
        run_id = wait_for('the run page', lambda: self.b.driver.current_url.rsplit('/run/', 1)[-1]
                          if '/run/' in self.b.driver.current_url else None)
        return int(run_id)

    def wait_state(self, state, timeout=RUN_WAIT):
        return self.b.find(f'h1 .state-{state}', timeout=timeout)

    def a_run_executes_and_shows_succeeded_with_its_log(self):
        run_id = self.schedule_from_the_ui('hello')
        self.wait_state('succeeded')
        wait_for('the log', lambda: 'hello-from-skynet' in self.b.text('#run-log'))
        self.b.screenshot('run-succeeded')
        assert self.stack.run(run_id)['state'] == 'succeeded'

    def a_failing_run_shows_failed(self):
        run_id = self.schedule_from_the_ui('broken')
        self.wait_state('failed')
        wait_for('the log', lambda: 'it broke' in self.b.text('#run-log'))
        exit_code = self.b.driver.find_element(By.XPATH, '//dt[normalize-space(.)="Exit code"]/following-sibling::dd[1]')
        assert exit_code.text == '3', exit_code.text
        self.b.screenshot('run-failed')
        assert self.stack.run(run_id)['exit_code'] == 3

    def schedule_at_a_local_time_then_cancel(self):
        zone = zoneinfo.ZoneInfo(BROWSER_ZONE)
        tomorrow = datetime.datetime.now(zone).date() + datetime.timedelta(days=1)
        local = datetime.datetime.combine(tomorrow, datetime.time(10, 30), tzinfo=zone)
        run_id = self.schedule_from_the_ui('hello', at_local=local.strftime('%Y-%m-%dT%H:%M'))
        self.wait_state('scheduled')
        run = self.stack.run(run_id)
        assert run['schedule_ts'] == local.timestamp(), (run['schedule'], local.isoformat())
        assert run['schedule'] == local.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'), run['schedule']
        hover = self.b.find('.run-facts time').get_attribute('title')
        assert hover.endswith('UTC') and local.astimezone(datetime.timezone.utc).strftime('%H:%M') in hover, hover
        self.b.screenshot('run-scheduled')
        self.b.click('#cancel-run')
        assert 'will not start' in self.b.text('#confirm-message')
        self.b.click('#dialog-submit')
        self.wait_state('cancelled', timeout=WAIT)
        assert self.stack.run(run_id)['state'] == 'cancelled'
        assert not self.b.displayed('#cancel-run'), 'a cancelled run offers no cancel'

    def cancel_a_running_run_while_its_log_refreshes(self):
        run_id = self.schedule_from_the_ui('sleeper')
        self.wait_state('running')
        self.b.find('#live-note')
        wait_for('the live log', lambda: 'sleeping' in self.b.text('#run-log'), timeout=RUN_WAIT)
        self.b.screenshot('run-running')
        self.b.click('#cancel-run')
        assert 'process group will be stopped' in self.b.text('#confirm-message')
        self.b.click('#dialog-submit')
        self.wait_state('cancelled', timeout=RUN_WAIT)
        assert self.stack.run(run_id)['state'] == 'cancelled'

    def scheduled_run_via_api(self, app_name, hours_ahead=24):
        status, body = self.stack.request('POST', f'/api/run/application/{self.ids[app_name]}',
                                          {'schedule': str(int(time.time()) + hours_ahead * 3600)}, key=ADMIN_KEY)
        assert status == 200, body
        entry = json.loads(body)['entry']
        self.tokens.append(entry['token'])
        return entry

    def the_curl_commands_report_start_and_stop(self):
        run = self.scheduled_run_via_api('hello')
        self.b.open(f'/run/{run["id"]}')
        commands = [el.text for el in self.b.all('#curl-section pre')]
        assert len(commands) == 2, commands
        start, stop = commands
        assert f'token={run["token"]}' in start and f'/api/run/start/{run["id"]}' in start, start
        work = tempfile.mkdtemp(dir=self.stack.work)
        with open(os.path.join(work, 'run.log'), 'w') as f:
            f.write('reported by curl\n')
        for command in (start, stop):
            done = subprocess.run(['bash', '-c', command + ' --silent --show-error --fail'], cwd=work,
                                  capture_output=True, text=True, timeout=30)
            assert done.returncode == 0, (command, done.stdout, done.stderr)
        after = self.stack.run(run['id'])
        assert after['state'] == 'succeeded' and after['exit_code'] == 0, after
        assert 'reported by curl' in after['raw_log'], after
        self.b.open(f'/run/{run["id"]}')
        self.wait_state('succeeded', timeout=WAIT)
        assert 'reported by curl' in self.b.text('#run-log')
        self.b.screenshot('run-page')

    def the_token_is_shown_only_to_the_admin(self):
        run = self.scheduled_run_via_api('hello')
        self.b.open(f'/run/{run["id"]}')
        assert run['token'] in self.b.text('#curl-section')
        self.b.click('#sign-out')
        self.b.open(f'/run/{run["id"]}')
        self.b.find('#curl-hint')
        assert not self.b.displayed('#curl-section')
        assert run['token'] not in self.b.driver.page_source
        self.b.open('/runs')
        assert run['token'] not in self.b.driver.page_source
        # Changes need the key again: the app asks for it before doing anything.
        self.b.open('/projects')
        self.b.click('#new-project')
        self.b.find('#admin-key-input')
        self.b.type('#admin-key-input', ADMIN_KEY + Keys.ENTER)
        self.b.find('#field-name')
        self.b.click('.dialog-buttons .btn-outline-secondary')
        assert self.b.session_key() == ADMIN_KEY

    def a_recurring_schedule_produces_a_run(self):
        query = '/runs?q=' + urllib.parse.quote(f'application_id: {self.ids["ticker"]}')

        def a_ticker_run():
            self.b.open(query)
            return self.b.table_rows('runs-table')
        wait_for('a run of the cron application', a_ticker_run, timeout=RUN_WAIT, interval=3)
        self.b.screenshot('runs-recurring')
        self.b.open('/applications?q=' + urllib.parse.quote('name: ticker'))
        assert 'next' in self.b.text('#applications-table'), 'the next slot is shown'

    def search_finds_by_category_and_by_free_text(self):
        self.scheduled_run_via_api('broken')
        self.b.open('/runs')

        def apps_in_table():
            return {row.find_elements(By.TAG_NAME, 'td')[3].text for row in self.b.table_rows('runs-table')}
        self.b.search('application: broken')
        assert apps_in_table() == {'broken'}, apps_in_table()
        assert 'application%3A' in self.b.driver.current_url or 'application:' in urllib.parse.unquote(self.b.driver.current_url)
        self.b.search('application: broken application: hello')
        assert apps_in_table() == {'broken', 'hello'}, apps_in_table()
        self.b.search('hello-from-skynet')  # free text: the command
        assert apps_in_table() == {'hello'}, apps_in_table()
        self.b.screenshot('runs-search')
        self.b.search('application: broken hello-from-skynet')  # categories AND text: nothing
        self.b.find('#empty-state')
        assert 'No run matches' in self.b.text('#empty-state')

        self.b.open('/projects')
        self.b.search('name: spare')
        rows = self.b.table_rows('projects-table')
        assert len(rows) == 1 and 'spare' in rows[0].text, [r.text for r in rows]
        self.b.search('Alps')  # free text: the description
        rows = self.b.table_rows('projects-table')
        assert len(rows) == 1 and 'climate' in rows[0].text, [r.text for r in rows]
        self.b.open('/applications')
        self.b.search('project: spare')
        rows = self.b.table_rows('applications-table')
        assert len(rows) == 1 and 'spare-app' in rows[0].text, [r.text for r in rows]

    def filters_by_state(self):
        self.b.open('/runs')
        before = self.b.rendered()
        self.b.click('.state-filters [data-state=cancelled]')
        self.b.wait_render_after(before, 'the filtered runs')
        states = {row.get_attribute('data-state') for row in self.b.table_rows('runs-table')}
        assert states == {'cancelled'}, states
        assert 'state=cancelled' in self.b.driver.current_url
        before = self.b.rendered()
        self.b.click('.state-filters [data-state=scheduled]')
        self.b.wait_render_after(before, 'the filtered runs')
        states = {row.get_attribute('data-state') for row in self.b.table_rows('runs-table')}
        assert states == {'cancelled', 'scheduled'}, states
        self.b.screenshot('runs-filtered')
        self.b.click('#clear-filters')

    def aegir_tasks_appear_with_site_and_type(self):
        site_title = self.stack.sql('SELECT title FROM node WHERE nid = 10')
        self.stack.sim('sim-queue-task', '10', 'verify', 'succeed')

        def task_row():
            self.b.open('/runs?kind=task')
            return next((row for row in self.b.table_rows('runs-table') if site_title in row.text), None)
        row = wait_for('the Aegir task among the runs', task_row, timeout=RUN_WAIT, interval=1)
        assert 'verify' in row.text and 'Aegir' in row.text, row.text
        self.b.open('/runs')
        self.b.screenshot('runs')

    def deleting_says_what_goes_with_it(self):
        self.scheduled_run_via_api('spare-app')
        self.b.open('/projects')
        row = wait_for('the spare project', lambda: next(
            (r for r in self.b.table_rows('projects-table') if 'spare' in r.text), None))
        row.find_element(By.CSS_SELECTOR, '[data-action=delete]').click()
        message = self.b.text('#confirm-message')
        assert '1 application' in message and 'spare-app' in message and '1 run' in message, message
        self.b.screenshot('project-delete')
        self.b.click('#dialog-submit')
        wait_for('the project to go', lambda: all('spare' not in r.text for r in self.b.table_rows('projects-table')))
        assert 'spare' not in [p['name'] for p in self.stack.json('/api/project/list')]
        assert 'spare-app' not in [a['name'] for a in self.stack.json('/api/application/list')]

    def usable_at_phone_width(self):
        self.b.driver.set_window_size(390, 844)
        try:
            for path, name in [('/runs', 'phone-runs'), ('/applications', 'phone-applications')]:
                self.b.open(path)
                overflow = self.b.driver.execute_script(
                    'return document.documentElement.scrollWidth - document.documentElement.clientWidth')
                self.b.screenshot(name)
                assert overflow <= 1, f'{path} is {overflow} px wider than the phone'
                # The row actions are on the screen, not scrolled off to the right of the table.
                off = self.b.driver.execute_script(
                    'const b = [...document.querySelectorAll("tbody tr td:last-child .btn, tbody tr td:last-child a")];'
                    'return b.filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth).length')
                assert off == 0, f'{path}: {off} row actions are off the screen'
            self.b.click('#nav-toggle')
            self.b.find('[data-nav=projects]').click()
            wait_for('the projects page', lambda: self.b.driver.current_url.endswith('/projects'))
        finally:
            self.b.driver.set_window_size(1280, 860)

    def pages_page_through_100000_runs(self):
        """Server-side paging and search with 100,000 finished runs (inserted directly): the
        totals, the last page and a search are right. Times are printed, not asserted."""
        self.stack.sql(f"""
            INSERT INTO skynet_run (kind, token, application_id, directory, command, state, schedule,
                                    started, stopped, exit_code, host, attempts, created, log_tail)
            SELECT 'job', MD5(CONCAT('bulk-', seq)), {self.ids['hello']}, 'climate/hello/',
                   'echo hello-from-skynet', 'succeeded', UNIX_TIMESTAMP() - 86400 - seq * 60,
                   UNIX_TIMESTAMP() - 86400 - seq * 60, UNIX_TIMESTAMP() - 86400 - seq * 60 + 2, 0,
                   'bulk', 1, UNIX_TIMESTAMP() - 86400 - seq * 60, 'bulk run'
            FROM seq_1_to_100000""")
        total = int(self.stack.sql('SELECT COUNT(*) FROM skynet_run'))
        started = time.monotonic()
        self.b.open('/runs')
        wait_for('the total', lambda: f'of {total:,}' in self.b.text('#total'))
        first_page = time.monotonic() - started
        assert len(self.b.table_rows('runs-table')) == 50
        pages = -(-total // 50)
        started = time.monotonic()
        self.b.open(f'/runs?page={pages}')
        wait_for('the last page', lambda: self.b.text('#total').startswith(f'{(pages - 1) * 50 + 1:,}–{total:,}'))
        last_page = time.monotonic() - started
        assert len(self.b.table_rows('runs-table')) == total - (pages - 1) * 50
        started = time.monotonic()
        self.b.search('application: broken')
        search = time.monotonic() - started
        apps = {row.find_elements(By.TAG_NAME, 'td')[3].text for row in self.b.table_rows('runs-table')}
        assert apps == {'broken'}, apps
        self.b.screenshot('runs-100k')
        print(f'    {total:,} runs: first page {first_page:.2f} s, last page {last_page:.2f} s, '
              f'search {search:.2f} s (in the browser, rendering included)')

    def no_key_or_token_in_the_daemon_log(self):
        log = self.stack.daemon_log()
        assert ADMIN_KEY not in log, 'the admin key is in the daemon log'
        for token in self.tokens:
            assert token not in log, 'a run token is in the daemon log'


def where(error, scenario):
    """The line of the scenario where `error` happened."""
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__) if frame.name == scenario]
    return lines[-1] if lines else '?'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--source')
    parser.add_argument('--skynet')
    parser.add_argument('--base-url', help='use this running server instead of starting one')
    parser.add_argument('--artifacts', required=True)
    parser.add_argument('--skip', default='', help='daemon features not there yet: dispatch,cron,...')
    parser.add_argument('--only', default='', help='run only these scenarios (and none after a failure)')
    args = parser.parse_args()
    skip = {tag for tag in args.skip.split(',') if tag}
    if 'api' in skip:
        print('SKIPPED  every scenario: the daemon does not serve the HTTP API yet (--skip api)')
        return SKIPPED
    only = {name for name in args.only.split(',') if name}
    os.makedirs(args.artifacts, exist_ok=True)
    for old in os.listdir(args.artifacts):
        if old.endswith('.png'):
            os.remove(os.path.join(args.artifacts, old))

    if args.base_url:
        stack = RunningServer(args.base_url)
    elif args.source and args.skynet:
        stack = Stack(os.path.abspath(args.source), os.path.abspath(args.skynet))
    else:
        parser.error('give --source and --skynet, or --base-url')
    browser = None
    results = []
    try:
        stack.start()
        browser = Browser(stack.url, os.path.join(stack.work, 'chromium-profile'), args.artifacts)
        scenarios = Scenarios(stack, browser)
        for scenario, needs in scenarios.all():
            name = scenario.__name__
            if only and name not in only:
                continue
            missing = needs & skip
            if missing:
                results.append((name, 'SKIPPED', f'needs {", ".join(sorted(missing))} (--skip)'))
                continue
            started = time.monotonic()
            try:
                scenario()
                results.append((name, 'ok', f'{time.monotonic() - started:.1f} s'))
            except Exception as e:  # noqa: BLE001 - a scenario's failure is reported, the rest go on
                shot = browser.screenshot(f'FAILED-{name}', keep_toasts=True)
                detail = (f'{type(e).__name__}: {e.msg}' if isinstance(e, WebDriverException)
                          else ''.join(traceback.format_exception_only(type(e), e)).strip())
                results.append((name, 'FAILED', f'{detail}\n        at line {where(e, name)}; screenshot {shot}'))
    except Exception:
        traceback.print_exc()
        results.append(('setup', 'FAILED', 'see the traceback above'))
    finally:
        if browser:
            browser.quit()
        if any(status == 'FAILED' for _, status, _ in results):
            print('--- the daemon\'s log (last 60 lines) ---')
            print('\n'.join(stack.daemon_log().splitlines()[-60:]) if os.path.exists(stack.log_path) else '(none)')
        stack.stop()
    for name, status, detail in results:
        print(f'{status:8} {name}: {detail}')
    print(f'screenshots in {args.artifacts}')
    return 1 if any(status == 'FAILED' for _, status, _ in results) or not results else 0


if __name__ == '__main__':
    sys.exit(main())
