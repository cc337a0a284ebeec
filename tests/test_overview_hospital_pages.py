"""The cells and figures of 00_overview and 03_hospital_stay: words and whole numbers, never nan."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from msc_analysis.endpoints import hospital_stay, overview  # noqa: E402
from msc_analysis.derive import follow_up  # noqa: E402
from msc_analysis.report import figures, follow_up_tables, hospital_tables, tables  # noqa: E402

INFUSED = pd.Timestamp("2020-08-01")
FORBIDDEN = ("nan", "NaN", "None", "<NA>", "inf", "NaT")


def _day(d):
    return pd.NaT if d is None else INFUSED + pd.Timedelta(days=d)


def _subjects(rows, treated=True):
    """rows: (id, discharged, died, last known alive) as days since the infusion."""
    return pd.DataFrame([{"subject_id": r[0], "arm": "MSC", "treated": treated, "infused_on": INFUSED,
                          "admitted_on": _day(-1), "discharged_on": _day(r[1]), "died_on": _day(r[2]),
                          "last_known_alive_on": _day(r[3])} for r in rows])


ROWS = [("A", 10, None, 60), ("B", None, 8, 7), ("C", None, None, 90), ("D", 10, None, 25), ("E", 12, None, 70)]


def _words(frame):
    return set(" ".join(frame.astype(str).to_numpy().ravel()).replace("(", " ").replace(")", " ").split())


@pytest.mark.parametrize("treated", [True, False])
def test_no_cell_of_either_page_shows_a_raw_missing_value(treated):
    s = _subjects(ROWS, treated)
    status = overview.status_at_cutoff(s, _day(120))
    course = hospital_stay.hospital_course(s, _day(120))
    cells = [tables.status_table(overview.status_counts(status)), tables.status_listing(status),
             hospital_tables.status_cells(hospital_stay.status_counts(course)),
             hospital_tables.inpatient_days_cells(hospital_stay.inpatient_days_summary(course)),
             hospital_tables.hospital_free_days_cells(hospital_stay.hospital_free_days_summary(course), 60),
             hospital_tables.time_to_discharge_cells(hospital_stay.time_to_discharge(course)),
             follow_up_tables.day_state_cells(follow_up.day_state_counts(status, (28, 60))),
             hospital_tables.discharge_cells(hospital_stay.discharge_at_days(course, (28, 60))),
             hospital_tables.risk_cells(hospital_stay.risk_table(course)),
             hospital_tables.course_listing(course)]
    for frame in cells:
        assert not _words(frame) & set(FORBIDDEN), frame
        assert all(isinstance(v, str) for v in frame.to_numpy().ravel())


def test_the_status_table_counts_add_up_and_name_the_hospital_statuses():
    status = overview.status_at_cutoff(_subjects(ROWS), _day(120))
    shown = tables.status_table(overview.status_counts(status)).set_index("Follow-up status")
    assert list(shown.columns) == ["Discharged alive", "Died in hospital", "In hospital at the cutoff", "All"]
    assert shown.loc["All treated subjects", "All"] == "5"
    assert shown.loc["Lost to follow-up", "Discharged alive"] == "1"


def test_the_follow_up_figure_draws_each_status_with_its_own_count():
    status = overview.status_at_cutoff(_subjects(ROWS), _day(120))
    fig = figures.follow_up_figure(status, overview.FOLLOW_UP_STATUSES, overview.HOSPITAL_STATUSES, title="Figure 0.3")
    ax = fig.axes[0]
    totals = {}
    for bar in ax.patches:
        y = round(bar.get_y() + bar.get_height() / 2)
        totals[y] = totals.get(y, 0) + bar.get_width()
    expected = status["status"].value_counts().reindex(overview.FOLLOW_UP_STATUSES, fill_value=0).tolist()
    assert [totals.get(i, 0) for i in range(len(expected))] == expected
    assert [t.get_text() for t in ax.get_yticklabels()] == list(overview.FOLLOW_UP_STATUSES)
    plt.close(fig)


def test_the_risk_cells_read_as_rows_that_add_up():
    course = hospital_stay.hospital_course(_subjects(ROWS), _day(120))
    cells = hospital_tables.risk_cells(hospital_stay.risk_table(course, (0, 28))).set_index("")
    assert cells["Day 28"].astype(int).sum() == 5
    assert list(cells.index) == list(hospital_tables.RISK_ROWS)


def test_a_zero_incidence_says_no_events_instead_of_a_zero_width_interval():
    course = hospital_stay.hospital_course(_subjects([("A", None, None, 90)]), _day(120))
    shown = hospital_tables.discharge_cells(hospital_stay.discharge_at_days(course, (28,)))
    assert shown["Cumulative incidence (95% CI)"].tolist() == ["0.0% (no events yet)"] * 2


def test_the_course_listing_has_one_row_per_treated_subject_sorted():
    course = hospital_stay.hospital_course(_subjects(ROWS[::-1]), _day(120))
    listing = hospital_tables.course_listing(course)
    assert listing["Subject"].tolist() == ["A", "B", "C", "D", "E"]
    assert listing.set_index("Subject").loc["D", "Hospital-free days status"] == \
        "lost to follow-up (last known alive day 25)"


def test_the_hospital_free_days_table_shows_the_headline_and_the_known_so_far_rows_with_their_counts():
    # cutoff on day 120, everyone infused on day 0: A 50, B died (0), C in hospital to day 90 (0),
    # D lost (last known alive day 25), E 48
    course = hospital_stay.hospital_course(_subjects(ROWS), _day(120))
    shown = hospital_tables.hospital_free_days_cells(hospital_stay.hospital_free_days_summary(course), 60)
    assert shown["Analysis"].str.startswith(("Headline", "Secondary, known so far")).all()
    head = shown.iloc[0]
    assert (head["Subjects"], head["Died by day 60 (scored 0)"], head["Lost to follow-up before day 60 (left out)"],
            head["Values used (n)"], head["Median hospital-free days (IQR)"]) == ("5", "1", "1", "4", "24 (0 to 48.5)")


def test_a_median_not_reached_reads_nr_never_inf():
    course = hospital_stay.hospital_course(_subjects([("A", None, 8, 7), ("B", None, 9, 8), ("C", 10, None, 60)]),
                                           _day(120))
    shown = hospital_tables.time_to_discharge_cells(hospital_stay.time_to_discharge(course))
    assert shown["Median days to discharge alive (95% CI)"].str.startswith("NR").all()
