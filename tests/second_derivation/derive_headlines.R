#!/usr/bin/env Rscript
# Independent second derivation of the headline numbers of the demo cuts (issue 13, item 10).
#
# Written from the documentation only (docs/data-dictionary.md, docs/endpoints/*.md, docs/results.md
# and the data tables in msc_analysis/definitions/), never from the Python code of the kit. Where the
# documentation is silent or ambiguous, the reading taken is marked "QUESTION" here and listed in
# tests/second_derivation/README.md.
#
# Usage (from the repository root):
#   Rscript tests/second_derivation/derive_headlines.R [cuts_dir] [out_dir]
# defaults: data/cuts and tests/second_derivation. Writes <out_dir>/headlines_<cut_id>.csv with
# columns cut_id, endpoint, measure, group, day, estimate, lower, upper, n, note.
# Needs base R and the recommended package `survival` (3.5-3 used); no other package.

suppressPackageStartupMessages(library(survival))

script_dir <- if (nzchar(Sys.getenv("SECOND_DERIVATION_DIR"))) Sys.getenv("SECOND_DERIVATION_DIR") else local({
  file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(file_arg)) dirname(normalizePath(sub("^--file=", "", file_arg[1]))) else getwd()
})
repo_root <- normalizePath(file.path(script_dir, "..", ".."))
args <- commandArgs(trailingOnly = TRUE)
cuts_dir <- if (length(args) >= 1) args[1] else file.path(repo_root, "data", "cuts")
out_dir <- if (length(args) >= 2) args[2] else script_dir
defs_dir <- file.path(repo_root, "msc_analysis", "definitions")

# ---------------------------------------------------------------------------------------------
# Definitions (data tables of the kit)
# ---------------------------------------------------------------------------------------------

read_def <- function(name) {
  read.csv(file.path(defs_dir, name), colClasses = "character", na.strings = "",
           comment.char = "#", check.names = FALSE)
}
MEASURES <- read_def("measures.csv")
WINDOWS <- read_def("visit_windows.csv")
for (v in c("target_day", "lower_day", "upper_day")) WINDOWS[[v]] <- as.numeric(WINDOWS[[v]])
BANDS <- read_def("liao_news_c_bands.csv")
LEVELS <- read_def("liao_levels.csv")
LAB_NAMES <- read_def("lab_test_names.csv")
LAB_UNITS <- read_def("lab_units.csv")

# baseline.yaml: only `family:` blocks with `window_days_before:` and `day0_values:` are read.
BASELINE <- local({
  lines <- readLines(file.path(defs_dir, "baseline.yaml"))
  out <- list(); fam <- NULL
  for (ln in lines) {
    if (grepl("^[a-z_0-9]+:\\s*$", ln)) { fam <- sub(":.*", "", ln); out[[fam]] <- list() }
    else if (!is.null(fam) && grepl("^  window_days_before:", ln))
      out[[fam]]$window <- as.numeric(sub(".*:\\s*", "", ln))
    else if (!is.null(fam) && grepl("^  day0_values:", ln))
      out[[fam]]$day0 <- trimws(sub(".*:\\s*", "", ln))
  }
  out
})

yaml_number <- function(file, key) {   # the first "key: number" line of a definitions YAML file
  ln <- grep(paste0("^\\s*", key, ":"), readLines(file.path(defs_dir, file)), value = TRUE)[1]
  as.numeric(sub("#.*", "", sub(paste0("^\\s*", key, ":\\s*"), "", ln)))
}
TARGET_DOSE <- yaml_number("trial.yaml", "target_dose_cells_per_kg")
TOLERANCE_PCT <- yaml_number("safety.yaml", "tolerance_pct")
ADULT_MIN_AGE <- if (file.exists(file.path(defs_dir, "liao_adult_score.yaml")))
  yaml_number("liao_adult_score.yaml", "adult_min_age_years") else 16   # 06_liao_score.md: children < 16

key_days <- function(endpoint, measure) {
  kd <- MEASURES$key_days[MEASURES$endpoint == endpoint & MEASURES$measure == measure]
  if (!length(kd) || is.na(kd[1]) || kd[1] == "") return(numeric(0))
  as.numeric(strsplit(kd[1], "|", fixed = TRUE)[[1]])
}

# ---------------------------------------------------------------------------------------------
# Loading a cut (only the loader rules that can change a number; the demo cuts are clean)
# ---------------------------------------------------------------------------------------------

as_bool <- function(x) {
  x <- tolower(trimws(x))
  ifelse(x %in% c("yes", "y", "true", "t", "1", "sim"), TRUE,
         ifelse(x %in% c("no", "n", "false", "f", "0", "nao", "n\u00e3o"), FALSE, NA))
}
norm_dt <- function(x) {            # "2020-07-25T14:30[:ss]" -> "2020-07-25 14:30:ss", sortable text
  x <- sub("T", " ", x, fixed = TRUE)
  ifelse(nchar(x) == 16, paste0(x, ":00"), x)
}
norm_test <- function(x) {          # ignore case, spaces, accents, hyphens/dashes
  x <- tolower(iconv(x, "UTF-8", "ASCII//TRANSLIT"))
  gsub("[[:space:]\u2010-\u2015-]", "", x)
}

load_cut <- function(dir) {
  yaml <- readLines(file.path(dir, "cut.yaml"))
  get_key <- function(k) gsub("^['\"]|['\"]$", "", trimws(sub(paste0("^", k, ":"), "",
                                                              grep(paste0("^", k, ":"), yaml, value = TRUE)[1])))
  cut_id <- get_key("cut_id"); cutoff <- as.Date(get_key("cutoff_date"))
  rd <- function(f) {
    d <- read.csv(file.path(dir, f), colClasses = "character", na.strings = "", check.names = FALSE,
                  encoding = "UTF-8")
    d <- d[!duplicated(d), , drop = FALSE]            # a row repeated value for value is kept once
    d$.row <- seq_len(nrow(d))                        # row order breaks ties ("earlier row")
    d
  }
  s <- rd("subjects.csv"); inf <- rd("infusions.csv")
  for (v in c("screened_on", "admitted_on", "discharged_on", "died_on", "last_known_alive_on"))
    s[[v]] <- as.Date(s[[v]])
  # dates after the cutoff are not yet known; a date known alive after it is the cutoff
  s$discharged_on[!is.na(s$discharged_on) & s$discharged_on > cutoff] <- NA
  s$died_on[!is.na(s$died_on) & s$died_on > cutoff] <- NA
  s$last_known_alive_on[!is.na(s$last_known_alive_on) & s$last_known_alive_on > cutoff] <- cutoff
  s$age_years <- as.numeric(s$age_years)
  inf$infused_on <- as.Date(inf$infused_on)
  inf <- inf[inf$infused_on <= cutoff & inf$subject_id %in% s$subject_id[s$screened_on <= cutoff], ]
  inf$cells_infused <- as.numeric(inf$cells_infused); inf$inf_weight_kg <- as.numeric(inf$weight_kg)
  treated <- merge(s, inf[, c("subject_id", "infused_on", "cells_infused", "inf_weight_kg")], by = "subject_id")
  treated <- treated[order(treated$subject_id), ]
  day_of <- function(sid, date) as.numeric(date - treated$infused_on[match(sid, treated$subject_id)])

  keep <- function(d, date) { d <- d[d$subject_id %in% treated$subject_id & date <= cutoff, , drop = FALSE]; d }

  labs <- rd("labs.csv"); labs$dt <- norm_dt(labs$collected_at); labs$date <- as.Date(substr(labs$dt, 1, 10))
  labs <- keep(labs, labs$date)
  canon <- LAB_NAMES$test[match(norm_test(labs$test), norm_test(LAB_NAMES$spelling))]
  labs$test_canon <- ifelse(is.na(canon), labs$test, canon)
  crp <- labs[labs$test_canon == "CRP", ]
  fac <- as.numeric(LAB_UNITS$factor[match(paste("CRP", crp$unit), paste(LAB_UNITS$test, LAB_UNITS$unit))])
  if (any(is.na(fac))) stop("CRP in an unknown unit")
  crp$value <- as.numeric(crp$value) * fac
  crp$day <- day_of(crp$subject_id, crp$date)

  bg <- rd("blood_gases.csv"); bg$dt <- norm_dt(bg$collected_at); bg$date <- as.Date(substr(bg$dt, 1, 10))
  bg <- keep(bg, bg$date)
  fio2 <- as.numeric(bg$fio2); fio2 <- ifelse(fio2 >= 21, fio2 / 100, fio2)   # 21-100 read as percent
  bg$value <- as.numeric(bg$pao2_mmhg) / fio2
  bg$day <- day_of(bg$subject_id, bg$date)

  pcr <- rd("pcr.csv"); pcr$date <- as.Date(pcr$collected_on); pcr <- keep(pcr, pcr$date)
  pcr$result <- tolower(pcr$result); pcr$day <- day_of(pcr$subject_id, pcr$date)

  img <- rd("imaging.csv"); img$date <- as.Date(img$performed_on); img <- keep(img, img$date)
  img <- img[toupper(img$modality) == "CT", ]
  img$dt <- paste(format(img$date), "00:00:00")
  img$value <- as.numeric(img$severity_score)
  if (!"impression" %in% names(img)) img$impression <- NA
  img$impression <- tolower(img$impression)
  img$day <- day_of(img$subject_id, img$date)

  vit <- rd("vitals.csv"); vit$dt <- norm_dt(vit$measured_at); vit$date <- as.Date(substr(vit$dt, 1, 10))
  vit <- keep(vit, vit$date); vit$day <- day_of(vit$subject_id, vit$date)

  # follow-up per treated subject (days since infusion)
  t0 <- treated$infused_on
  treated$death_day <- as.numeric(treated$died_on - t0)
  treated$discharge_day <- as.numeric(treated$discharged_on - t0)
  treated$lka_day <- as.numeric(pmin(treated$last_known_alive_on, cutoff) - t0)
  treated$days_to_cutoff <- as.numeric(cutoff - t0)
  list(cut_id = cut_id, cutoff = cutoff, treated = treated, crp = crp, bg = bg, pcr = pcr,
       img = img, vit = vit)
}

# ---------------------------------------------------------------------------------------------
# Output rows
# ---------------------------------------------------------------------------------------------

ROWS <- NULL
add_row <- function(endpoint, measure, group = "all", day = NA, estimate = NA, lower = NA, upper = NA,
                    n = NA, note = "") {
  ROWS <<- rbind(ROWS, data.frame(endpoint = endpoint, measure = measure, group = group, day = day,
                                  estimate = estimate, lower = lower, upper = upper, n = n, note = note,
                                  stringsAsFactors = FALSE))
}

q7 <- function(x) { # median, Q1, Q3 by R type 7 (linear interpolation)
  if (!length(x)) return(c(NA, NA, NA))
  unname(quantile(x, c(0.5, 0.25, 0.75), type = 7))
}

clopper_pearson <- function(k, n) {
  if (n == 0) return(c(NA, NA, NA))
  ci <- binom.test(k, n)$conf.int
  c(k / n, ci[1], ci[2])
}

# Follow-up (docs/endpoints/00_overview.md): known alive to = the later of last_known_alive_on (capped
# at the cutoff) and discharged_on; follow-up days = death day, else known-alive day, else 0.
known_alive_day <- function(tr) {
  k <- pmax(tr$lka_day, tr$discharge_day, na.rm = TRUE)
  ifelse(is.infinite(k), NA, k)
}
follow_up_days <- function(tr) {
  k <- known_alive_day(tr)
  ifelse(!is.na(tr$death_day), tr$death_day, ifelse(is.na(k), 0, k))
}

# ---------------------------------------------------------------------------------------------
# 01 overall survival
# ---------------------------------------------------------------------------------------------

survival_times <- function(tr) {
  died <- !is.na(tr$death_day)
  kad <- known_alive_day(tr)
  cens <- ifelse(is.na(kad) | kad < 0, 0, kad)
  data.frame(time = ifelse(died, tr$death_day, cens), status = as.integer(died))
}

# a KM / AJ curve read at day t: NA after the last follow-up unless nobody was left event-free
# QUESTION (README 2): "carried forward only if nobody remained at risk" read as "the event-free
# probability is 0 at the last time"
step_at <- function(times, values, t, last_time, final) {
  if (t > last_time && !final) return(NA)
  i <- which(times <= t)
  if (!length(i)) return(NULL)
  values[max(i)]
}

derive_os <- function(cut) {
  st <- survival_times(cut$treated); n <- nrow(st)
  fit <- survfit(Surv(time, status) ~ 1, data = st, conf.type = "log-log")
  final <- tail(fit$surv, 1) == 0
  for (d in key_days("overall_survival", "survival_prop")) {
    s <- step_at(fit$time, fit$surv, d, max(st$time), final)
    if (is.null(s)) { est <- 1; lo <- 1; up <- 1 } else if (is.na(s)) { est <- lo <- up <- NA } else {
      i <- max(which(fit$time <= d)); est <- s; lo <- fit$lower[i]; up <- fit$upper[i]
      if (est == 1) { lo <- 1; up <- 1 }    # doc: where S = 1 the interval is [1, 1] (R: NA; README 3)
    }
    add_row("overall_survival", "survival_prop", day = d, estimate = est, lower = lo, upper = up, n = n)
  }
  # sensitivity: lost to follow-up (day 60 passed by the calendar, not died, known alive to before day 60)
  # counted as deaths at the last day known alive (day 0 without one)
  tr <- cut$treated; fu <- follow_up_days(tr)
  lost <- is.na(tr$death_day) & fu < 60 & tr$days_to_cutoff >= 60
  st2 <- st; st2$status[lost] <- 1
  # sensitivity: per protocol, dose = cells_infused / weight_kg within 10 % of 1e6 cells/kg (inclusive,
  # rounded to 9 decimals); definitions/trial.yaml target_dose_cells_per_kg, safety.yaml tolerance_pct
  dose <- tr$cells_infused / tr$inf_weight_kg
  pp <- !is.na(dose) & round(abs(100 * (dose / TARGET_DOSE - 1)), 9) <= TOLERANCE_PCT
  for (spec in list(list("survival_prop_lost_as_deaths", st2), list("survival_prop_per_protocol", st[pp, ]))) {
    f2 <- survfit(Surv(time, status) ~ 1, data = spec[[2]], conf.type = "log-log")
    for (d in key_days("overall_survival", spec[[1]])) {
      s2 <- step_at(f2$time, f2$surv, d, max(spec[[2]]$time), tail(f2$surv, 1) == 0)
      if (is.null(s2)) { v <- c(1, 1, 1) } else if (is.na(s2)) { v <- c(NA, NA, NA) } else {
        i <- max(which(f2$time <= d)); v <- c(s2, f2$lower[i], f2$upper[i]); if (s2 == 1) v <- c(1, 1, 1) }
      add_row("overall_survival", spec[[1]], day = d, estimate = v[1], lower = v[2], upper = v[3],
              n = nrow(spec[[2]]), note = "sensitivity")
    }
  }
  q <- quantile(fit, c(0.5, 0.25, 0.75))
  na_inf <- function(x) ifelse(is.na(x), Inf, unname(x))   # not reached = inf
  add_row("overall_survival", "median_days", estimate = na_inf(q$quantile[1]), lower = na_inf(q$lower[1]),
          upper = na_inf(q$upper[1]), n = n)
  for (j in 2:3) add_row("overall_survival", c("", "survival_q1_days", "survival_q3_days")[j],
                         estimate = na_inf(q$quantile[j]), lower = na_inf(q$lower[j]), upper = na_inf(q$upper[j]),
                         n = n, note = "secondary, descriptive")
  # median follow-up by reverse Kaplan-Meier (being censored is the event, a death censors)
  rq <- quantile(survfit(Surv(time, 1 - status) ~ 1, data = st, conf.type = "log-log"), 0.5)
  add_row("overall_survival", "follow_up_reverse_km_median_days", estimate = na_inf(rq$quantile),
          lower = na_inf(rq$lower), upper = na_inf(rq$upper), n = n, note = "descriptive")
}

# ---------------------------------------------------------------------------------------------
# 02 RT-PCR negativity (two consecutive negatives), death competing, window 28 days
# ---------------------------------------------------------------------------------------------

negativity_status <- function(cut, horizon = 28, confirmation = "two_consecutive", never_positive = "exclude") {
  tr <- cut$treated
  res <- lapply(seq_len(nrow(tr)), function(i) {
    sid <- tr$subject_id[i]; dd <- tr$death_day[i]
    p <- cut$pcr[cut$pcr$subject_id == sid, ]
    # one result per day: positive if any positive, else negative if any negative; inconclusive skipped
    days <- sort(unique(p$day))
    r <- vapply(days, function(d) { x <- p$result[p$day == d]
      if (any(x == "positive")) "positive" else if (any(x == "negative")) "negative" else "inconclusive" }, "")
    keep <- r != "inconclusive"; days <- days[keep]; r <- r[keep]
    base <- if (any(days <= 0)) r[max(which(days <= 0))] else NA
    post_d <- days[days > 0]; post_r <- r[days > 0]
    # never positive after day 0 (rule 6); QUESTION (README 5): inconclusive-only subjects are not "with results"
    if (never_positive == "exclude" && length(days) && !any(post_r == "positive") &&
        (is.na(base) || base != "positive"))
      return(c(time = NA, event = NA, excluded = 1))
    neg_day <- NA
    for (j in seq_along(post_d)) if (post_r[j] == "negative") {
      if (confirmation == "first_negative" || (j < length(post_d) && post_r[j + 1] == "negative")) {
        neg_day <- post_d[j]; break }
    }
    if (!is.na(neg_day) && neg_day <= horizon && (is.na(dd) || neg_day <= dd))
      return(c(time = neg_day, event = 1, excluded = 0))
    if (!is.na(dd) && dd <= horizon) return(c(time = dd, event = 2, excluded = 0))
    last <- if (length(days) && max(days) >= 0) max(days) else 0
    c(time = min(last, horizon), event = 0, excluded = 0)
  })
  out <- as.data.frame(do.call(rbind, res)); out$subject_id <- tr$subject_id
  out
}

cif_fit <- function(time, event) {
  ev <- factor(event, 0:2, c("censored", "event", "competing"))
  survfit(Surv(time, ev) ~ 1, conf.type = "log-log")
}

cif_at <- function(fit, time, d) {     # cumulative incidence of state "event" at day d, with log-log CI
  k <- which(fit$states == "event")
  final <- tail(fit$pstate[, 1], 1) == 0          # nobody left event-free after the last day
  v <- step_at(fit$time, fit$pstate[, k], d, max(time), final)
  if (is.null(v)) return(c(0, 0, 0))              # no event yet: 0 with interval [0, 0] (doc convention)
  if (is.na(v)) return(c(NA, NA, NA))
  i <- max(which(fit$time <= d)); est <- v
  if (est == 0) return(c(0, 0, 0))
  c(est, fit$lower[i, k], fit$upper[i, k])
}

# The quantile of a rising cumulative incidence with its CI, by R's own quantile rule (survival:::findq,
# the function quantile.survfit uses: the first time the curve reaches p; where it stays exactly at p, the
# midpoint to the next change). Lower limit from the upper band, upper limit from the lower band.
# R's quantile() refuses multi-state fits, so findq is called on pstate, lower and upper directly.
# Not reached = inf.
cif_quantile <- function(fit, state = "event", p = 0.5) {
  k <- which(fit$states == state)
  tol <- sqrt(.Machine$double.eps)
  fq <- function(y) {
    y <- c(0, y); x <- c(0, fit$time)
    if (all(is.na(y)) || max(y, na.rm = TRUE) < p) return(Inf)
    q <- survival:::findq(x, y, p, tol)
    if (is.na(q)) Inf else q
  }
  c(fq(fit$pstate[, k]), fq(fit$upper[, k]), fq(fit$lower[, k]))
}

derive_pcr <- function(cut) {
  specs <- list(
    list(prefix = "", confirmation = "two_consecutive", never_positive = "exclude", note = ""),
    list(prefix = "sensitivity_", confirmation = "first_negative", never_positive = "exclude",
         note = "sensitivity: first negative result"),
    list(prefix = "np", confirmation = "two_consecutive", never_positive = "include",
         note = "sensitivity: never-positive subjects included"))
  for (sp in specs) {
    st <- negativity_status(cut, confirmation = sp$confirmation, never_positive = sp$never_positive)
    a <- st[st$excluded == 0, ]; n <- nrow(a)
    ci_measure <- if (sp$prefix == "np") "cumulative_incidence_prop_never_positive_included" else
      paste0(sp$prefix, "cumulative_incidence_prop")
    no_data <- n == 0 || !nrow(cut$pcr)
    fit <- if (no_data) NULL else cif_fit(a$time, a$event)
    for (d in 28) {                          # the registered day (key_days of the headline)
      v <- if (no_data) c(NA, NA, NA) else cif_at(fit, a$time, d)
      add_row("pcr_negativity", ci_measure, day = d, estimate = v[1], lower = v[2], upper = v[3], n = n,
              note = sp$note)
    }
    if (sp$prefix != "np") {
      q <- if (no_data) c(NA, NA, NA) else cif_quantile(fit)
      add_row("pcr_negativity", paste0(sp$prefix, "median_days"), estimate = q[1], lower = q[2], upper = q[3],
              n = n, note = sp$note)
    }
  }
}

# ---------------------------------------------------------------------------------------------
# 03 hospital stay
# ---------------------------------------------------------------------------------------------

derive_hospital <- function(cut, horizon = 60) {
  tr <- cut$treated
  dis <- !is.na(tr$discharged_on)
  died_in_hospital <- !dis & !is.na(tr$died_on)
  # end of the stay (days since infusion): discharge; death in hospital; else the known-alive day (0 if none)
  kad <- known_alive_day(tr)
  end_day <- ifelse(dis, tr$discharge_day, ifelse(died_in_hospital, tr$death_day, ifelse(is.na(kad), 0, kad)))
  event <- ifelse(dis, 1, ifelse(died_in_hospital, 2, 0))
  admission_day <- as.numeric(tr$admitted_on - tr$infused_on)
  # headline: Aalen-Johansen median days from admission to discharge alive (death in hospital competing)
  has_adm <- !is.na(admission_day)
  from_adm <- end_day[has_adm] - admission_day[has_adm]
  if (sum(has_adm)) {
    q <- cif_quantile(cif_fit(from_adm, event[has_adm]))
  } else q <- c(NA, NA, NA)
  add_row("hospital_stay", "inpatient_days_median", estimate = q[1], lower = q[2], upper = q[3], n = sum(has_adm))
  q <- cif_quantile(cif_fit(pmax(end_day, 0), event))
  add_row("hospital_stay", "inpatient_days_from_infusion_median", estimate = q[1], lower = q[2], upper = q[3],
          n = nrow(tr), note = "secondary")
  fit <- cif_fit(pmax(end_day, 0), event)
  for (d in c(28, 60)) {                     # trial.yaml time_frames: hospital_stay discharge_days
    v <- cif_at(fit, pmax(end_day, 0), d)
    add_row("hospital_stay", "discharged_alive_prop", day = d, estimate = v[1], lower = v[2], upper = v[3],
            n = nrow(tr), note = "secondary")
  }
  stay <- as.numeric(tr$discharged_on[dis] - tr$admitted_on[dis]); stay <- stay[!is.na(stay)]
  q <- q7(stay)
  add_row("hospital_stay", "inpatient_days_discharged_median", estimate = q[1], lower = q[2],
          upper = q[3], n = length(stay), note = "secondary: discharged alive only")
  # hospital-free days to day 60, by the state at day 60: died -> 0; followed -> 60 - min(max(discharge
  # day, 0), 60) if discharged, else 0; lost to follow-up / not yet reached -> no value
  fu <- follow_up_days(tr)
  died_h <- !is.na(tr$death_day) & tr$death_day <= horizon
  followed <- !died_h & fu >= horizon
  hfd <- rep(NA_real_, nrow(tr))
  hfd[followed] <- ifelse(dis[followed], horizon - pmin(pmax(tr$discharge_day[followed], 0), horizon), 0)
  hfd[died_h] <- 0
  ev <- tr$days_to_cutoff >= horizon                  # evaluable by calendar
  v <- hfd[ev]
  q <- q7(v[!is.na(v)])
  add_row("hospital_stay", "hospital_free_days_median", day = horizon, estimate = q[1], lower = q[2],
          upper = q[3], n = sum(!is.na(v)), note = "evaluable by calendar (headline)")
  q <- q7(hfd[!is.na(hfd)])
  add_row("hospital_stay", "hospital_free_days_known_median", day = horizon, estimate = q[1],
          lower = q[2], upper = q[3], n = sum(!is.na(hfd)), note = "known so far (secondary)")
}

# ---------------------------------------------------------------------------------------------
# Shared longitudinal rules: baseline and visit values
# ---------------------------------------------------------------------------------------------

# values: data frame with subject_id, day, dt (sortable text), .row, value (non-missing)
baseline_values <- function(values, family) {
  rule <- BASELINE[[family]]
  v <- values[!is.na(values$value) & values$day <= 0 & values$day >= -rule$window, ]
  v <- v[order(v$subject_id, v$dt, v$.row), ]
  out <- lapply(split(v, v$subject_id), function(x) {
    d0 <- x[x$day == 0, ]
    if (nrow(d0) && rule$day0 == "earliest") return(d0[1, ])
    if (rule$day0 == "none") x <- x[x$day < 0, ]
    if (!nrow(x)) return(NULL)
    x[nrow(x), ]
  })
  out <- do.call(rbind, out)
  if (is.null(out)) return(data.frame(subject_id = character(0), base = numeric(0)))
  data.frame(subject_id = out$subject_id, base = out$value, stringsAsFactors = FALSE)
}

visit_values <- function(values, family, visit_day, require_value = TRUE) {
  w <- WINDOWS[WINDOWS$family == family & WINDOWS$target_day == visit_day, ]
  v <- values[values$day >= w$lower_day & values$day <= w$upper_day, ]
  if (require_value) v <- v[!is.na(v$value), ]
  v <- v[order(v$subject_id, abs(v$day - w$target_day), v$day, v$dt, v$.row), ]
  v[!duplicated(v$subject_id), ]
}

derive_change <- function(cut, values, family, endpoint, measure, days = key_days(endpoint, measure)) {
  base <- baseline_values(values, family)
  for (d in days) {
    vv <- visit_values(values, family, d)
    m <- merge(vv, base, by = "subject_id")
    ch <- m$value - m$base
    q <- q7(ch)
    add_row(endpoint, measure, day = d, estimate = q[1], lower = q[2], upper = q[3], n = length(ch))
  }
}

# Worst-rank change (04_crp.md estimand): subjects with a baseline whose window closed by the cutoff
# (cutoff - infusion >= U); measured change; else died by day U (worst); else discharged alive by day U
# (best); else left out. Quantiles by R type 7 on the value scale with the states at -/+ infinity:
# between a value and a state, or two equal states, the state; between died and discharged, died.
worst_rank_quantile <- function(x, q, died_value) {
  x <- sort(x); n <- length(x); h <- (n - 1) * q; j <- floor(h) + 1
  if (h == floor(h)) return(x[j])
  a <- x[j]; b <- x[j + 1]
  if (is.finite(a) && is.finite(b)) return(a + (h - floor(h)) * (b - a))
  if (is.finite(a)) return(b)
  if (is.finite(b)) return(a)
  if (a == b) a else died_value
}

derive_worst_rank <- function(cut, values, family, endpoint, stem, higher_is_worse, days = c(7, 28)) {
  tr <- cut$treated
  base <- baseline_values(values, family)
  died_value <- if (higher_is_worse) Inf else -Inf
  for (d in days) {                          # the key days of the observed headline
    U <- WINDOWS$upper_day[WINDOWS$family == family & WINDOWS$target_day == d]
    vv <- visit_values(values, family, d)
    b <- base$base[match(tr$subject_id, base$subject_id)]
    v <- vv$value[match(tr$subject_id, vv$subject_id)]
    pop <- !is.na(b) & tr$days_to_cutoff >= U
    died <- !is.na(tr$death_day) & tr$death_day <= U
    disch <- !is.na(tr$discharge_day) & tr$discharge_day <= U
    # QUESTION (README 12): a subject measured in the window keeps the value even if dead by day U
    score <- ifelse(!is.na(v), v - b, ifelse(died, died_value, ifelse(disch, -died_value, NA)))
    x <- score[pop & !is.na(score)]
    n <- length(x)
    qs <- if (n) sapply(c(0.5, 0.25, 0.75), function(q) worst_rank_quantile(x, q, died_value)) else c(NA, NA, NA)
    qs[is.infinite(qs)] <- NA                  # a quantile on a state is not a number
    add_row(endpoint, paste0(stem, "_median"), day = d, estimate = qs[1], lower = qs[2], upper = qs[3], n = n,
            note = "supplementary: worst rank")
    r <- if (n) clopper_pearson(sum(x == died_value), n) else c(NA, NA, NA)
    add_row(endpoint, paste0(stem, "_died_prop"), day = d, estimate = r[1], lower = r[2], upper = r[3], n = n,
            note = "supplementary: worst rank")
  }
}

# ---------------------------------------------------------------------------------------------
# 06 Liao (NEWS-C) score: level fell by at least one colour by day X
# ---------------------------------------------------------------------------------------------

band_points <- function(param, x, scale = NA, on_oxygen = NA) {
  b <- BANDS[BANDS$parameter == param, ]
  if (!is.na(scale)) b <- b[b$scale == scale, ]
  pts <- rep(NA_real_, length(x))
  for (i in seq_along(x)) {
    if (is.na(x[i])) next
    for (j in seq_len(nrow(b))) {
      lo_ok <- is.na(b$lower_op[j]) || (b$lower_op[j] == ">" && x[i] > as.numeric(b$lower[j])) ||
        (b$lower_op[j] == ">=" && x[i] >= as.numeric(b$lower[j]))
      up_ok <- is.na(b$upper_op[j]) || (b$upper_op[j] == "<=" && x[i] <= as.numeric(b$upper[j])) ||
        (b$upper_op[j] == "<" && x[i] < as.numeric(b$upper[j]))
      ox_ok <- is.na(b$on_oxygen[j]) || (!is.na(on_oxygen[i]) && b$on_oxygen[j] == ifelse(on_oxygen[i], "yes", "no"))
      if (lo_ok && up_ok && ox_ok) { pts[i] <- as.numeric(b$points[j]); break }
    }
  }
  pts
}

liao_scores <- function(cut, age_points = 3) {
  v <- cut$vit
  ox <- as_bool(v$on_oxygen)
  p_rr <- band_points("resp_rate", as.numeric(v$resp_rate_per_min))
  p_sp <- band_points("spo2", as.numeric(v$spo2_pct), scale = "1", on_oxygen = ox)
  p_ox <- ifelse(is.na(ox), NA, ifelse(ox, 2, 0))
  p_t <- band_points("temperature", as.numeric(v$temp_c))
  p_bp <- band_points("sbp", as.numeric(v$sbp_mmhg))
  p_hr <- band_points("heart_rate", as.numeric(v$heart_rate_bpm))
  cons <- BANDS[BANDS$parameter == "consciousness" & BANDS$scale == "ACVPU", ]
  p_c <- as.numeric(cons$points[match(toupper(v$consciousness), cons$category)])
  P <- cbind(p_rr, p_sp, p_ox, p_t, p_bp, p_hr, p_c)
  age <- cut$treated$age_years[match(v$subject_id, cut$treated$subject_id)]
  p_age <- ifelse(age >= 65, age_points, 0)
  total <- rowSums(P, na.rm = TRUE) + p_age
  # levels by liao_levels.csv, rule "total": green 1 < yellow 2 < orange 3 < red 4
  # QUESTION (README 8): "any single physiological item scoring 3" read as any of the seven vital-sign items
  lv <- LEVELS[LEVELS$level_rule == "total", ]
  min_total <- setNames(as.numeric(lv$min_total), lv$level)
  single_min <- as.numeric(lv$min_single_parameter_points[lv$level == "orange"])
  single3 <- apply(P, 1, function(r) any(r >= single_min, na.rm = TRUE))   # age never triggers (default switch)
  level <- ifelse(total >= min_total["red"], 4, ifelse(total >= min_total["orange"] | single3, 3,
                  ifelse(total >= min_total["yellow"], 2, 1)))
  v$complete <- rowSums(is.na(P)) == 0
  v$n_signs <- rowSums(!is.na(P))
  v$total <- total; v$value <- level
  v
}


# per treated subject: evaluable (in the denominator) and improved by day X
liao_outcomes <- function(cut, sc, X, denominator = c("calendar", "known")) {
  denominator <- match.arg(denominator)
  base <- baseline_values(sc, "liao")
  tr <- cut$treated; fu <- follow_up_days(tr)
  out <- data.frame(subject_id = tr$subject_id, evaluable = FALSE, improved = FALSE)
  for (i in seq_len(nrow(tr))) {
    sid <- tr$subject_id[i]
    b <- base$base[base$subject_id == sid]
    if (!length(b)) next                                                     # no baseline: left out
    if (denominator == "calendar" && tr$days_to_cutoff[i] < X) next           # not evaluable by calendar
    if (!is.na(tr$death_day[i]) && tr$death_day[i] <= X) { out$evaluable[i] <- TRUE; next } # died: not improved
    if (is.na(fu[i]) || fu[i] < X) next     # not followed to day X (QUESTION, README 11: death day counts)
    post <- sc[sc$subject_id == sid & sc$day >= 1 & sc$day <= X, ]
    out$evaluable[i] <- TRUE; out$improved[i] <- any(post$value < b)
  }
  out
}

liao_improved <- function(cut, sc, X, denominator = c("calendar", "known")) {
  o <- liao_outcomes(cut, sc, X, denominator)
  clopper_pearson_n(sum(o$improved & o$evaluable), sum(o$evaluable))
}

clopper_pearson_n <- function(k, n) c(clopper_pearson(k, n), n)

derive_liao <- function(cut) {
  all_sc <- liao_scores(cut)
  all_sc <- all_sc[all_sc$n_signs > 0, ]          # an assessment without any vital sign is never used
  sc <- all_sc[all_sc$complete, ]                 # incomplete assessments left out (default)
  adult <- is.na(cut$treated$age_years) | cut$treated$age_years >= ADULT_MIN_AGE
  for (X in key_days("liao_score", "improved_prop")) {
    for (spec in list(list("improved_prop", sc, "calendar", "evaluable by calendar (headline)"),
                      list("improved_known_prop", sc, "known", "known so far (secondary)"),
                      list("improved_incl_incomplete_prop", all_sc, "calendar",
                           "sensitivity: incomplete assessments included"))) {
      r <- liao_improved(cut, spec[[2]], X, spec[[3]])
      add_row("liao_score", spec[[1]], day = X, estimate = r[1], lower = r[2], upper = r[3], n = r[4],
              note = spec[[4]])
    }
    # sensitivity without children: treated subjects aged 16 or more (missing age counted as adult)
    o <- liao_outcomes(cut, sc, X, "calendar")[adult, ]
    r <- clopper_pearson(sum(o$improved & o$evaluable), sum(o$evaluable))
    add_row("liao_score", "improved_prop_adults_only", day = X, estimate = r[1], lower = r[2], upper = r[3],
            n = sum(o$evaluable), note = "sensitivity: without children")
  }
  ev <- stable_or_discharged(cut, sc)
  fit <- cif_fit(ev$time, ev$event)
  for (d in c(7, 14, 28, 60)) {            # trial.yaml time_frames: liao_score report_days
    v <- cif_at(fit, ev$time, d)
    add_row("liao_score", "stable_or_discharged_cumulative_incidence_prop", day = d, estimate = v[1],
            lower = v[2], upper = v[3], n = nrow(ev), note = "not registered; the page's headline of section 3")
  }
  fit <- cif_fit(ev$time[adult], ev$event[adult])
  for (d in c(7, 14, 28, 60)) {
    v <- cif_at(fit, ev$time[adult], d)
    add_row("liao_score", "stable_or_discharged_cumulative_incidence_prop_adults_only", day = d,
            estimate = v[1], lower = v[2], upper = v[3], n = sum(adult), note = "sensitivity: without children")
  }
  ev <- stable_or_discharged(cut, sc, prespecified = TRUE)
  fit <- cif_fit(ev$time, ev$event)
  for (d in c(7, 14, 28, 60)) {
    v <- cif_at(fit, ev$time, d)
    add_row("liao_score", "sustained_low_score_cumulative_incidence_prop", day = d, estimate = v[1],
            lower = v[2], upper = v[3], n = nrow(ev), note = "sensitivity: the pre-specified definition")
  }
}

# Clinical stability (age-free total <= 2 held 22 h) or discharge alive, whichever first; death competing
stable_or_discharged <- function(cut, sc, low_max = 2, hold_hours = 22, horizon = 60, prespecified = FALSE) {
  tr <- cut$treated
  age <- tr$age_years[match(sc$subject_id, tr$subject_id)]
  sc$age_free <- if (prespecified) sc$total else sc$total - ifelse(age >= 65, 3, 0)
  sc$t <- as.POSIXct(sc$dt, tz = "UTC", format = "%Y-%m-%d %H:%M:%S")
  kad <- known_alive_day(tr)
  res <- t(vapply(seq_len(nrow(tr)), function(i) {
    x <- sc[sc$subject_id == tr$subject_id[i] & sc$day >= 1, ]
    x <- x[order(x$t, x$.row), ]
    run_day <- Inf
    if (nrow(x)) {
      low <- x$age_free <= low_max
      r <- rle(low); ends <- cumsum(r$lengths); starts <- ends - r$lengths + 1
      for (j in which(r$values)) {
        first <- x$t[starts[j]]
        if (any(difftime(x$t[starts[j]:ends[j]], first, units = "hours") >= hold_hours) &&
            x$day[starts[j]] <= horizon) { run_day <- x$day[starts[j]]; break }
      }
    }
    dd <- tr$death_day[i]; dis <- tr$discharge_day[i]
    if (prespecified) {                          # 3b: age points in, discharge censors, death in hospital competes
      if (run_day <= horizon && (is.na(dd) || run_day <= dd)) return(c(run_day, 1))
      if (!is.na(dd) && dd <= horizon && (is.na(dis) || dis >= dd)) return(c(dd, 2))
      return(c(if (nrow(x)) min(horizon, max(x$day)) else 0, 0))
    }
    dis_alive <- if (!is.na(dis) && (is.na(dd) || dd >= dis)) dis else Inf
    e1 <- min(run_day, dis_alive)   # QUESTION (README 9, 10): event 1 on the day of death counts as event 1
    if (e1 <= horizon && (is.na(dd) || e1 <= dd)) return(c(e1, 1))
    if (!is.na(dd) && dd <= horizon) return(c(dd, 2))
    last <- if (nrow(x)) max(x$day) else 0
    c(min(horizon, max(ifelse(is.na(kad[i]), 0, kad[i]), last)), 0)
  }, numeric(2)))
  data.frame(time = res[, 1], event = res[, 2])
}

# ---------------------------------------------------------------------------------------------
# 07 chest CT: impression "improved" at the visit's scan, deaths as not improved
# ---------------------------------------------------------------------------------------------

# per treated subject: in the headline population and evaluable at day X, and improved from baseline
ct_outcomes <- function(cut, X, calendar_only = TRUE, min_decrease = 2) {
  tr <- cut$treated
  scored <- cut$img[!is.na(cut$img$value), ]
  base <- baseline_values(scored, "ct")
  b <- base$base[match(tr$subject_id, base$subject_id)]
  U <- WINDOWS$upper_day[WINDOWS$family == "ct" & WINDOWS$target_day == X]
  keep <- if (calendar_only) tr$days_to_cutoff >= U else rep(TRUE, nrow(tr))
  died <- !is.na(tr$death_day) & tr$death_day <= U
  # improved from the baseline scan: score <= baseline - 2, or 0; deaths not improved; population:
  # baseline score > 0; a scored scan at the visit decides, else a death by day U
  vs <- visit_values(scored, "ct", X)
  score <- vs$value[match(tr$subject_id, vs$subject_id)]
  in_pop <- !is.na(b) & b > 0 & keep
  scanned <- in_pop & !is.na(score)
  data.frame(subject_id = tr$subject_id, evaluable = scanned | (in_pop & died), scanned = scanned,
             improved = scanned & (score <= b - min_decrease | score == 0))
}

derive_ct <- function(cut, min_decrease = 2) {
  tr <- cut$treated; img <- cut$img
  for (X in key_days("radiology", "ct_improved_from_baseline_prop")) {
    U <- WINDOWS$upper_day[WINDOWS$family == "ct" & WINDOWS$target_day == X]
    calendar <- tr$days_to_cutoff >= U
    died <- !is.na(tr$death_day) & tr$death_day <= U
    for (spec in list(list("ct_improved_from_baseline_prop", TRUE, "evaluable by calendar (headline)"),
                      list("ct_improved_from_baseline_known_prop", FALSE, "known so far (secondary)"))) {
      o <- ct_outcomes(cut, X, calendar_only = spec[[2]], min_decrease = min_decrease)
      k <- sum(o$improved); n <- sum(o$evaluable)
      r <- if (sum(o$scanned) == 0) c(NA, NA, NA) else clopper_pearson(k, n)
      add_row("radiology", spec[[1]], day = X, estimate = r[1], lower = r[2], upper = r[3], n = n, note = spec[[3]])
    }
    # secondary: impression "improved" against the previous scan, evaluable by calendar
    vv <- visit_values(img, "ct", X, require_value = FALSE)
    imp <- vv$impression[match(tr$subject_id, vv$subject_id)]
    has_scan <- tr$subject_id %in% vv$subject_id
    read <- calendar & has_scan & imp %in% c("improved", "stable", "worsened")
    dead <- calendar & !has_scan & died
    k <- sum(read & imp == "improved"); n <- sum(read) + sum(dead)
    r <- if (sum(read) == 0) c(NA, NA, NA) else clopper_pearson(k, n)
    add_row("radiology", "ct_improved_prop", day = X, estimate = r[1], lower = r[2], upper = r[3], n = n,
            note = "secondary: impression against the previous scan, evaluable by calendar")
  }
}

# ---------------------------------------------------------------------------------------------
# Subgroups (docs/endpoints/subgroups.md, definitions/subgroups.csv): survival at day 30, Liao improved
# and CT improved from baseline by day 28, per subgroup; written on page 01 with group = the label
# ---------------------------------------------------------------------------------------------

SUBGROUPS <- read_def("subgroups.csv")
LEVEL_NAMES <- c("green", "yellow", "orange", "red")

# Liao level at entry: the last assessment with at least one vital sign dated on the screening day,
# incomplete ones scored as recorded, default switches
entry_levels <- function(cut) {
  tr <- cut$treated
  sc <- liao_scores(cut); sc <- sc[sc$n_signs > 0, ]
  sc <- sc[sc$date == tr$screened_on[match(sc$subject_id, tr$subject_id)], ]
  sc <- sc[order(sc$subject_id, sc$dt, sc$.row), ]
  last <- sc[!duplicated(sc$subject_id, fromLast = TRUE), ]
  LEVEL_NAMES[last$value[match(tr$subject_id, last$subject_id)]]
}

subgroup_membership <- function(cut) {
  tr <- cut$treated
  col_values <- list(liao_level_at_screening = entry_levels(cut), age_years = tr$age_years, sex = tr$sex)
  groups <- list()
  for (var in unique(SUBGROUPS$variable)) {
    rows <- SUBGROUPS[SUBGROUPS$variable == var, ]
    x <- col_values[[rows$column[1]]]
    listed <- rep(FALSE, nrow(tr))
    for (j in seq_len(nrow(rows))) {
      if (!is.na(rows$values[j])) {
        m <- !is.na(x) & as.character(x) %in% strsplit(rows$values[j], "|", fixed = TRUE)[[1]]
      } else {
        xn <- suppressWarnings(as.numeric(x))
        m <- !is.na(xn) & (is.na(rows$lower[j]) | xn >= as.numeric(rows$lower[j])) &
          (is.na(rows$upper[j]) | xn < as.numeric(rows$upper[j]))
      }
      groups[[rows$label[j]]] <- m; listed <- listed | m
    }
    other <- !listed & !is.na(x); missing <- is.na(x)
    if (any(other)) groups[[paste0(rows$variable_label[1], ": other value")]] <- other
    if (any(missing)) groups[[paste0(rows$variable_label[1], ": missing")]] <- missing
  }
  groups
}

derive_subgroups <- function(cut) {
  tr <- cut$treated
  st <- survival_times(tr)
  sc <- liao_scores(cut); sc <- sc[sc$n_signs > 0 & sc$complete, ]
  liao <- liao_outcomes(cut, sc, 28, "calendar")
  ct <- ct_outcomes(cut, 28)
  for (g in names(groups <- subgroup_membership(cut))) {
    m <- groups[[g]]
    v <- c(NA, NA, NA)
    if (any(m)) {
      f <- survfit(Surv(time, status) ~ 1, data = st[m, ], conf.type = "log-log")
      s30 <- step_at(f$time, f$surv, 30, max(st$time[m]), tail(f$surv, 1) == 0)
      if (is.null(s30)) v <- c(1, 1, 1) else if (!is.na(s30)) {
        i <- max(which(f$time <= 30)); v <- c(s30, f$lower[i], f$upper[i]); if (s30 == 1) v <- c(1, 1, 1) }
    }
    add_row("overall_survival", "survival_prop", group = g, day = 30, estimate = v[1], lower = v[2],
            upper = v[3], n = sum(m), note = "subgroup")
    for (spec in list(list("liao_score", "improved_prop", liao), list("radiology", "ct_improved_from_baseline_prop", ct))) {
      o <- spec[[3]][m, ]
      r <- clopper_pearson(sum(o$improved & o$evaluable), sum(o$evaluable))
      add_row(spec[[1]], spec[[2]], group = g, day = 28, estimate = r[1], lower = r[2], upper = r[3],
              n = sum(o$evaluable), note = "subgroup")
    }
  }
}

# ---------------------------------------------------------------------------------------------

fmt_num <- function(x) ifelse(is.na(x), "", ifelse(is.infinite(x), ifelse(x > 0, "inf", "-inf"),
                                                   sprintf("%.17g", x)))

main <- function() {
  for (cut_dir in sort(list.dirs(cuts_dir, recursive = FALSE))) {
    if (!file.exists(file.path(cut_dir, "cut.yaml"))) next
    cut <- load_cut(cut_dir)
    ROWS <<- NULL
    derive_os(cut)
    derive_pcr(cut)
    derive_hospital(cut)
    derive_change(cut, cut$crp, "crp", "crp", "crp_change_mg_dl_median")
    derive_change(cut, cut$bg, "pao2_fio2", "pao2_fio2", "pf_ratio_change_median")
    derive_worst_rank(cut, cut$crp, "crp", "crp", "crp_change_worst_rank", higher_is_worse = TRUE)
    derive_worst_rank(cut, cut$bg, "pao2_fio2", "pao2_fio2", "pf_ratio_change_worst_rank", higher_is_worse = FALSE)
    derive_liao(cut)
    derive_ct(cut)
    derive_subgroups(cut)
    # supplementary observed and worst-rank changes of the Liao total and the CT score
    sc <- liao_scores(cut); sc <- sc[sc$n_signs > 0 & sc$complete, ]; sc$value <- sc$total
    derive_change(cut, sc, "liao", "liao_score", "score_change_median", days = c(7, 28))
    derive_worst_rank(cut, sc, "liao", "liao_score", "score_change_worst_rank", higher_is_worse = TRUE)
    ct <- cut$img[!is.na(cut$img$value), ]
    derive_change(cut, ct, "ct", "radiology", "ct_score_change_median", days = c(14, 28))
    derive_worst_rank(cut, ct, "ct", "radiology", "ct_score_change_worst_rank", higher_is_worse = TRUE,
                      days = c(14, 28))
    out <- data.frame(cut_id = cut$cut_id, endpoint = ROWS$endpoint, measure = ROWS$measure, group = ROWS$group,
                      day = ifelse(is.na(ROWS$day), "", as.character(ROWS$day)),
                      estimate = fmt_num(ROWS$estimate), lower = fmt_num(ROWS$lower), upper = fmt_num(ROWS$upper),
                      n = as.character(ROWS$n), note = ROWS$note, stringsAsFactors = FALSE)
    dir.create(out_dir, showWarnings = FALSE, recursive = TRUE)
    f <- file.path(out_dir, paste0("headlines_", cut$cut_id, ".csv"))
    write.csv(out, f, row.names = FALSE, na = "")
    cat("wrote", f, "\n")
  }
}

if (sys.nframe() == 0) main()   # run as a script (not when source()d)
