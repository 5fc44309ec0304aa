"""A year of work in one village: visits, the issues they raise, and inspections."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from server.demo.context import VISITING_DAYS, Calendar, Covering, VillageLedger, new_id
from server.demo.names import (
    AID,
    INSPECTION_NOTES,
    ISSUES,
    NOTES_FOLLOW_UP,
    NOTES_IN_PROGRESS,
    NOTES_INFORMED,
    NOTES_PASSED,
    NOTES_SOLVED,
    ON_SPOT_NOTES,
    VILLAGE_ISSUES,
    VISIT_OPENINGS,
    VISIT_REMARKS,
    VISIT_TOPICS,
)
from server.demo.photos import VisitPhotos
from server.demo.writer import Row, Writer
from server.inspections.models import Inspection
from server.issues.models import Issue, IssueEvent
from server.visits.models import Visit
from shared.vocab import (
    SOLVED_STATUSES,
    IssueCategory,
    IssueEventKind,
    IssueStatus,
    ProblemSolved,
    Satisfaction,
    VisitKind,
    VisitRole,
)

# A step of an issue's timeline: when, the new status (None for a note)
# and what was written.
Step = tuple[datetime, IssueStatus | None, str]

# Visits a household gets in the year, and how often: a few are never visited.
VISITS_PER_HOUSEHOLD = ((0, 3, 4, 5, 6), (3, 30, 32, 22, 13))
VISIT_KINDS = ((VisitKind.HOME_VISIT, VisitKind.PHONE_CALL, VisitKind.CAME_IN), (75, 18, 7))
ROLE_RATES = (
    (VisitRole.OPINIONS, 0.8),
    (VisitRole.POLICY, 0.6),
    (VisitRole.SERVICE, 0.3),
    (VisitRole.ECONOMIC, 0.2),
)
# Share of cadres whose last visit is more than 30 days old: the dashboards'
# "overdue" list should have someone on it.
LAGGING_CADRES = 0.05
ISSUES_PER_VISIT = 0.05
# Policy questions are mostly answered on the doorstep; other issues less often.
ON_SPOT = {IssueCategory.POLICY_QUESTION: 0.85}
ON_SPOT_OTHERWISE = 0.35
SATISFACTION = {
    ProblemSolved.YES: (88, 10, 2),
    ProblemSolved.NONE_RAISED: (88, 10, 2),
    ProblemSolved.PARTLY: (50, 40, 10),
    ProblemSolved.NO: (20, 50, 30),
}


@dataclass(frozen=True)
class Outcome:
    """When a household's issue was raised and, if so, first counted as solved."""

    raised_at: datetime
    solved_at: datetime | None


class Fieldwork:
    """Writes each village's year of fieldwork: its cadres' visits and issues, and the inspections.

    It remembers the current village's visits and issues per household,
    which is what an inspector asks the household about.
    """

    def __init__(
        self,
        rng: random.Random,
        writer: Writer,
        calendar: Calendar,
        inspectors: list[uuid.UUID],
        inspection_rate: float,
    ) -> None:
        self.rng = rng
        self.writer = writer
        self.calendar = calendar
        self.inspectors = inspectors
        self.inspection_rate = inspection_rate
        self.photos = VisitPhotos(writer)
        self.weekdays = [
            day for i in range(VISITING_DAYS) if (day := calendar.day(i)).weekday() < 5
        ]
        self.visits_of: dict[uuid.UUID, list[datetime]] = {}
        self.issues_of: dict[uuid.UUID, list[Outcome]] = {}
        self.categories = list(ISSUES)
        self.category_weights = [ISSUES[category][0] for category in self.categories]

    def year_of(self, ledger: VillageLedger) -> None:
        """The village's random year: every cadre's visits and a few village issues."""
        self.visits_of.clear()
        self.issues_of.clear()
        for covering in ledger.coverings:
            self._cadre_year(ledger, covering)
        self._village_issues(ledger)

    # --- visits ---------------------------------------------------------------

    def visit(
        self,
        ledger: VillageLedger,
        *,
        cadre_id: uuid.UUID,
        household: Row,
        at: datetime,
        kind: VisitKind,
        roles: list[str],
        topics: list[str],
        notes: str,
        recorded_after: timedelta = timedelta(hours=3),
    ) -> uuid.UUID:
        """Write one visit; a home visit carries the phone's location, and a few a photo."""
        rng = self.rng
        visit_id = new_id(rng)
        located = kind == VisitKind.HOME_VISIT and rng.random() < 0.8
        recorded_at = self.calendar.clamp(at + recorded_after)
        self.writer.add(
            Visit,
            {
                "id": visit_id,
                "cadre_id": cadre_id,
                "household_id": household["id"],
                "visited_at": at,
                "kind": kind,
                "roles": roles,
                "topics": topics,
                "notes": notes,
                "latitude": round(ledger.latitude + rng.gauss(0, 0.004), 6) if located else None,
                "longitude": round(ledger.longitude + rng.gauss(0, 0.004), 6) if located else None,
                "amends_id": None,
                "recorded_at": recorded_at,
            },
        )
        if kind == VisitKind.HOME_VISIT:
            self.photos.visit(visit_id, household["id"], cadre_id, recorded_at)
        self.visits_of.setdefault(household["id"], []).append(at)
        return visit_id

    def _cadre_year(self, ledger: VillageLedger, covering: Covering) -> None:
        """A cadre's year: trips to the village on irregular days (全天候), seeing
        a few households each time; some contacts are calls or the household coming in."""
        rng = self.rng
        last_day = VISITING_DAYS - 1
        lagging = rng.random() < LAGGING_CADRES
        end = last_day - rng.randint(31, 120) if lagging else last_day
        trips = rng.sample(range(end + 1), rng.randint(8, 16))
        recent = None if lagging else last_day - rng.randint(0, 27)
        if recent is not None and recent not in trips:
            trips.append(recent)
        starts = {day: rng.randint(8 * 60 + 30, 15 * 60) for day in trips}
        plans = []
        for household in covering.households:
            visits = rng.choices(*VISITS_PER_HOUSEHOLD)[0]
            plans.append((household, rng.sample(trips, min(visits, len(trips)))))
        if recent is not None and not any(recent in days for _, days in plans):
            # An active cadre has been to the village this month.
            visited = [days for _, days in plans if days]
            if visited:
                rng.choice(visited)[0] = recent
        for household, days in plans:
            for day in sorted(days):
                self._random_visit(ledger, covering, household, day, starts[day])

    def _random_visit(
        self, ledger: VillageLedger, covering: Covering, household: Row, day: int, start: int
    ) -> None:
        rng = self.rng
        kind = rng.choices(*VISIT_KINDS)[0]
        if kind == VisitKind.HOME_VISIT:
            minute = start + rng.randint(0, 150)
            recorded_after = timedelta(minutes=rng.randint(10, 3 * 24 * 60))  # synced back in town
        else:
            minute = rng.randint(8 * 60, 21 * 60)
            recorded_after = timedelta(minutes=rng.randint(1, 120))
        roles = [role.value for role, rate in ROLE_RATES if rng.random() < rate] or [
            VisitRole.OPINIONS.value
        ]
        topics = rng.sample(VISIT_TOPICS, rng.choice((1, 1, 2)))
        notes = f"{rng.choice(VISIT_OPENINGS[kind])}；讲解{'、'.join(topics)}。{rng.choice(VISIT_REMARKS)}"
        at = self.calendar.at(self.calendar.day(day), minute)
        visit_id = self.visit(
            ledger,
            cadre_id=covering.cadre_id,
            household=household,
            at=at,
            kind=kind,
            roles=roles,
            topics=topics,
            notes=notes,
            recorded_after=recorded_after,
        )
        if rng.random() < ISSUES_PER_VISIT:
            self._random_issue(ledger, covering.cadre_id, household, visit_id, at)

    # --- issues -------------------------------------------------------------

    def issue(
        self,
        ledger: VillageLedger,
        *,
        cadre_id: uuid.UUID,
        household_id: uuid.UUID | None,
        visit_id: uuid.UUID | None,
        category: IssueCategory,
        description: str,
        department: str,
        aid: int | None,
        steps: list[Step],
    ) -> None:
        """Write an issue and its timeline, keeping only the steps before the cutoff."""
        cutoff = self.calendar.cutoff
        steps = [step for step in steps if step[0] < cutoff]
        raised_at = steps[0][0]
        issue_id = new_id(self.rng)
        statuses = [status for _, status, _ in steps if status is not None]
        passed_on = IssueStatus.PASSED_TO_DEPARTMENT in statuses
        self.writer.add(
            Issue,
            {
                "id": issue_id,
                "village_id": ledger.village_id,
                "household_id": household_id,
                "visit_id": visit_id,
                "raised_by_cadre_id": cadre_id,
                "raised_at": raised_at,
                "category": category,
                "description": description,
                "status": statuses[-1],
                "department": department if passed_on else "",
                "aid_amount": None if aid is None else Decimal(aid),
                "recorded_at": self.calendar.clamp(raised_at + timedelta(hours=2)),
            },
        )
        seen: IssueStatus | None = None  # the status each change was made on
        for at, status, note in steps:
            self.writer.add(
                IssueEvent,
                {
                    "id": new_id(self.rng),
                    "issue_id": issue_id,
                    "at": at,
                    "kind": IssueEventKind.NOTE if status is None else IssueEventKind.STATUS,
                    "status": status,
                    "base_status": seen if status is not None else None,
                    "department": department if status == IssueStatus.PASSED_TO_DEPARTMENT else "",
                    "note": note,
                    "cadre_id": cadre_id,
                    "account_id": None,
                    "recorded_at": self.calendar.clamp(at + timedelta(hours=2)),
                },
            )
            seen = status or seen
        if household_id is not None:
            solved_at = next((at for at, status, _ in steps if status in SOLVED_STATUSES), None)
            self.issues_of.setdefault(household_id, []).append(Outcome(raised_at, solved_at))

    def _random_issue(
        self,
        ledger: VillageLedger,
        cadre_id: uuid.UUID,
        household: Row,
        visit_id: uuid.UUID,
        raised_at: datetime,
    ) -> None:
        rng = self.rng
        category = rng.choices(self.categories, self.category_weights)[0]
        _, descriptions, departments = ISSUES[category]
        aid = None
        if category in AID:
            rate, amounts = AID[category]
            aid = rng.choice(amounts) if rng.random() < rate else None
        department = rng.choice(departments).format(town=ledger.town)
        self.issue(
            ledger,
            cadre_id=cadre_id,
            household_id=household["id"],
            visit_id=visit_id,
            category=category,
            description=rng.choice(descriptions),
            department=department,
            aid=aid,
            steps=self._timeline(raised_at, category, department),
        )

    def _village_issues(self, ledger: VillageLedger) -> None:
        """Issues of the whole village (no household), raised by one of its cadres."""
        rng = self.rng
        for _ in range(rng.choice((0, 1, 1, 2))):
            category, description = rng.choice(VILLAGE_ISSUES)
            raised_at = self.calendar.at(
                self.calendar.day(rng.randrange(VISITING_DAYS)), rng.randint(9 * 60, 17 * 60)
            )
            department = f"{ledger.town}人民政府"
            self.issue(
                ledger,
                cadre_id=rng.choice(ledger.coverings).cadre_id,
                household_id=None,
                visit_id=None,
                category=category,
                description=description,
                department=department,
                aid=None,
                steps=self._timeline(raised_at, category, department, on_spot=0),
            )

    def _timeline(
        self,
        raised_at: datetime,
        category: IssueCategory,
        department: str,
        on_spot: float | None = None,
    ) -> list[Step]:
        """How an issue moves: solved on the spot, or passed on, followed, solved
        and the household told — some stop on the way, still open or in progress."""
        rng = self.rng
        steps: list[Step] = [(raised_at, IssueStatus.OPEN, "")]
        if on_spot is None:
            on_spot = ON_SPOT.get(category, ON_SPOT_OTHERWISE)
        if rng.random() < on_spot:
            solved = raised_at + timedelta(minutes=rng.randint(5, 40))
            return [*steps, (solved, IssueStatus.SOLVED_ON_SPOT, rng.choice(ON_SPOT_NOTES))]
        fate = rng.random()
        if fate < 0.06:
            return steps  # still waiting for the cadre to write it up
        at = raised_at + timedelta(hours=rng.randint(1, 48))
        passed_note = NOTES_PASSED.format(department=department)
        steps.append((at, IssueStatus.PASSED_TO_DEPARTMENT, passed_note))
        if fate < 0.10:
            return steps
        at += timedelta(days=rng.randint(1, 7), hours=rng.randint(0, 8))
        steps.append((at, IssueStatus.IN_PROGRESS, NOTES_IN_PROGRESS.format(department=department)))
        if rng.random() < 0.3:
            at += timedelta(days=rng.randint(2, 10))
            steps.append((at, None, rng.choice(NOTES_FOLLOW_UP).format(department=department)))
        if fate < 0.20:
            return steps
        at += timedelta(days=rng.randint(2, 40), hours=rng.randint(0, 8))
        steps.append((at, IssueStatus.SOLVED, NOTES_SOLVED.format(department=department)))
        if fate < 0.25:
            return steps
        at += timedelta(days=rng.randint(0, 5), hours=rng.randint(1, 8))
        return [*steps, (at, IssueStatus.HOUSEHOLD_INFORMED, rng.choice(NOTES_INFORMED))]

    # --- inspections ----------------------------------------------------------

    def inspections(self, ledger: VillageLedger) -> None:
        """Unannounced spot checks by the efficiency and work-style offices (督查)."""
        rng = self.rng
        for covering in ledger.coverings:
            for household in covering.households:
                if rng.random() < self.inspection_rate:
                    self._inspect(household, rng.choice(self.weekdays))

    def _inspect(self, household: Row, day: date) -> None:
        rng = self.rng
        visits = [at for at in self.visits_of.get(household["id"], []) if at.date() < day]
        knows_cadre = rng.random() < (0.95 if visits else 0.4)
        last_visit = None
        if visits and rng.random() < 0.85:
            # Households remember roughly: sometimes a few days early.
            last_visit = max(visits).date() - timedelta(days=rng.choice((0, 0, 0, 1, 2, 3, 7)))
        problem_solved = self._problem_solved(household["id"], day)
        satisfaction = rng.choices(list(Satisfaction), SATISFACTION[problem_solved])[0]
        notes = rng.choice(INSPECTION_NOTES["known" if knows_cadre else "unknown"])
        self.writer.add(
            Inspection,
            {
                "id": new_id(rng),
                "inspector_id": rng.choice(self.inspectors),
                "household_id": household["id"],
                "inspected_on": day,
                "knows_cadre": knows_cadre,
                "last_visit_reported": last_visit,
                "problem_solved": problem_solved,
                "satisfaction": satisfaction,
                "notes": notes,
                "recorded_at": self.calendar.clamp(
                    self.calendar.at(day, 18 * 60 + rng.randint(0, 48 * 60))
                ),
            },
        )

    def _problem_solved(self, household_id: uuid.UUID, day: date) -> ProblemSolved:
        raised = [
            outcome
            for outcome in self.issues_of.get(household_id, [])
            if outcome.raised_at.date() < day
        ]
        if not raised:
            return ProblemSolved.NONE_RAISED
        solved = sum(1 for o in raised if o.solved_at is not None and o.solved_at.date() < day)
        if solved == len(raised):
            return ProblemSolved.YES
        return ProblemSolved.PARTLY if solved else ProblemSolved.NO
