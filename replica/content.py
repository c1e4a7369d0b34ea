"""The hand-written articles of the replica: stories, and the pages that publish them.

The stories are invented but written the way the network's wire and press-release copy reads.
Text is ASCII with straight quotes ("--" for a dash); Latin-1 letters (Tromsø, Málaga) are
kept as they are so that ISO-8859-1 pages carry real high bytes.

Tags on articles say what each one exercises in a crawler; ``layout.py`` decides where each
article is linked from, and the manifest computes reachability from the rendered pages.
"""

from __future__ import annotations

import re
import textwrap

from replica.model import Article, Link, Story, classic_url, newer_url, parse_date_text
from replica.network import (
    MARSDAILY,
    SPACEDAILY,
    SPACEMART,
    SPACEWAR,
    TERRADAILY,
    ClassicSite,
)


def _story(
    key: str, title: str, byline: str, dateline: str, body: str, image: str | None = None
) -> Story:
    match = re.fullmatch(r"(.+) \(([A-Z]+)\) (.+)", dateline)
    if match is None:
        raise ValueError(f"bad dateline for {key}: {dateline!r}")
    place, agency, date_text = match.groups()
    paragraphs = tuple(
        " ".join(chunk.split()) for chunk in textwrap.dedent(body).strip().split("\n\n")
    )
    return Story(
        key=key,
        title=title,
        byline=byline,
        place=place,
        agency=agency,
        date=parse_date_text(date_text),
        date_text=date_text,
        raw_paragraphs=paragraphs,
        image=image,
    )


def _classic(
    key: str,
    site: ClassicSite,
    story: Story,
    kicker: str,
    *,
    suffix: bool = True,
    path: str | None = None,
    related: tuple[Link, ...] = (),
    teasers: tuple[str, ...] = (),
    extra: tuple[Link, ...] = (),
    cp1252: bool = False,
    copy_of: str | None = None,
    tags: tuple[str, ...] = (),
) -> Article:
    url = (
        f"https://{site.host}{path}" if path else classic_url(site.host, story.title, suffix=suffix)
    )
    return Article(
        key=key,
        story=story,
        url=url,
        kicker=kicker,
        related_links=related,
        teasers=teasers,
        extra_headlines=extra,
        cp1252=cp1252,
        copy_of=copy_of,
        tags=frozenset(tags),
    )


def _newer(
    key: str,
    slug: str,
    story: Story,
    category: str,
    post_id: int,
    *,
    related: tuple[Link, ...] = (),
    teasers: tuple[str, ...] = (),
    extra: tuple[Link, ...] = (),
    tags: tuple[str, ...] = (),
) -> Article:
    return Article(
        key=key,
        story=story,
        url=newer_url(slug),
        kicker=category,
        related_links=related,
        teasers=teasers,
        extra_headlines=extra,
        post_id=post_id,
        tags=frozenset(("newer-platform", *tags)),
    )


# Links that "Related Links" boxes point to. Off the network: a crawler must never fetch them.
NASA = Link("https://www.nasa.gov/", "NASA")
JPL = Link("https://www.jpl.nasa.gov/", "Jet Propulsion Laboratory")
ESA = Link("https://www.esa.int/", "European Space Agency")
NATO = Link("https://www.nato.int/", "NATO")
NOAA = Link("https://www.noaa.gov/", "National Oceanic and Atmospheric Administration")
SPACE_WAR_NEWS = Link("https://www.spacewar.com/", "Space War News")
SUPERPOWERS = Link(
    "https://www.spacewar.com/Superpowers.html",
    "Learn about the Superpowers of the 21st Century at SpaceWar.com",
)
NUKES = Link(
    "http://www.spacewar.com/",
    "Learn about nuclear weapons doctrine and defense at SpaceWar.com",
)
SPACE_NEWS = Link("https://www.spacedaily.com/", "Space News at SpaceDaily.com")
EARTH_NEWS = Link("https://www.terradaily.com/", "Earth Science News at TerraDaily.com")
MARS_NEWS = Link("https://www.marsdaily.com/", "Mars News and Information at MarsDaily.com")
INDUSTRY_NEWS = Link("https://www.spacemart.com/", "Space Industry and Business News")

DEAD_SPACEWAR = "https://www.spacewar.com/reports/Pentagon_Weighs_Orbital_Refuelling_Depot_999.html"
"""Linked from a SpaceWar article's headline lists; the page was taken down (404)."""
DEAD_NEWER = "https://spacedaily.com/sd-moon-base-power-study-withdrawn/"
"""A withdrawn post still listed under a newer-platform article's related posts (404)."""


# ---------------------------------------------------------------------------------- stories

ARCTIC = _story(
    "arctic",
    "Arctic thaw sharpens rivalry over northern sea routes",
    "by AFP Staff Writers",
    "Oslo (AFP) May 19, 2025",
    """
    Shrinking Arctic sea ice is opening shipping lanes that were frozen for most of the year
    only a decade ago, and the governments bordering the region are moving quickly to stake
    their claims, officials and analysts said Monday.

    Norway's defence ministry said it would double the number of patrol flights over the
    Barents Sea this summer, citing "a marked increase in activity" by foreign naval vessels
    near its waters.

    "The ice is retreating faster than our planning assumed," a senior Norwegian officer told
    reporters in Oslo, speaking on condition of anonymity. "Where the ice goes, ships follow,
    and where ships follow, so do navies."

    - A crowded ocean -

    Satellite records show the summer minimum of Arctic sea ice has fallen by roughly 13
    percent per decade since the late 1970s, according to figures compiled by polar
    researchers.

    Russia has invested heavily in its Northern Sea Route, building icebreakers and reopening
    Soviet-era bases along its northern coast, while China, which calls itself a "near-Arctic
    state," has sent research vessels into the region every summer for years.

    Denmark, Canada and the United States have all announced new spending on surveillance
    satellites and long-range radar for the far north in the past year.

    "Nobody wants a conflict in the Arctic," said Ingrid Solberg, a researcher at an institute
    in Tromsø who studies polar security. "But everybody wants to be ready for one."
    """,
    "arctic-sea-ice-shipping",
)

BALTIC = _story(
    "baltic",
    "Baltic states to link air defences in joint shield",
    "by AFP Staff Writers",
    "Vilnius (AFP) May 19, 2025",
    """
    Lithuania, Latvia and Estonia agreed on Monday to connect their air defence radars and
    missile batteries into a single network, in what their defence ministers called the
    largest joint military project since the three countries regained independence.

    The plan, signed at a meeting in Vilnius, will let an operator in any of the three
    capitals see the same air picture and hand a target to whichever battery is best placed
    to engage it.

    "An aircraft or a drone does not stop at our borders, so our defence should not stop
    there either," Lithuania's defence minister said after the signing.

    The first shared command post is due to open next year near the Latvian city of
    Valmiera, with full integration expected by 2029. The ministers did not give a total
    cost but said a large share would come from European defence funds.

    - Drones the priority -

    Officials said the system would focus first on small drones, which have repeatedly
    strayed into Baltic airspace, before adding longer-range interceptors.

    NATO has kept fighter jets in the region on rotation since 2004 to police the skies of
    the three members, which have no combat aircraft of their own.
    """,
    "baltic-air-defence-radar",
)

JAPAN_RADAR = _story(
    "japan-radar",
    "Japan to deploy long-range radar on remote southern islands",
    "by AFP Staff Writers",
    "Tokyo (AFP) May 18, 2025",
    """
    Japan will install a new long-range radar on one of its remote southwestern islands by
    2027, the defence ministry said Sunday, as it strengthens its watch over waters where
    foreign naval activity has grown.

    The radar, designed to track ballistic missiles and aircraft at distances of several
    hundred kilometres, will be built on an island in the Okinawa chain, a ministry official
    said, without naming which one.

    Local officials said they had been briefed on the plan but had asked Tokyo for more
    information about noise and the effects of the equipment on residents.

    "We understand the need for national defence, but the people who live here deserve clear
    answers," the island's deputy mayor told reporters.

    Japan has been expanding its military presence in the region for a decade, stationing
    missile units and surveillance teams on islands that previously had no troops at all.
    """,
    "japan-radar-island",
)

NK_MISSILES = _story(
    "nk-missiles",
    "North Korea fires short-range missiles into sea, Seoul says",
    "by AFP Staff Writers",
    "Seoul (AFP) May 17, 2025",
    """
    North Korea fired several short-range ballistic missiles into the sea off its east coast
    on Saturday, South Korea's military said, the latest in a series of launches this year.

    The missiles flew about 300 kilometres before falling into waters outside Japan's
    exclusive economic zone, the Joint Chiefs of Staff in Seoul said in a statement.

    "Our military is maintaining full readiness while closely sharing information with the
    United States and Japan," the statement said.

    Japan's coast guard issued a warning to ships in the area but said it had no reports of
    damage.

    Pyongyang has stepped up weapons testing in recent years, and analysts say each launch
    gives its engineers data to refine guidance systems and solid-fuel motors.
    """,
    "north-korea-missile-launch",
)

NAVAL_DRILLS = _story(
    "naval-drills",
    "Beijing and Moscow stage joint naval drills in Sea of Japan",
    "By Anya Petrova",
    "Beijing (AFP) May 16, 2025",
    """
    Chinese and Russian warships began a week of joint exercises in the Sea of Japan on
    Friday, Beijing's defence ministry said, the third such drill in the region in two years.

    The ministry said the exercises, involving destroyers, a submarine and anti-submarine
    aircraft, were "not directed at any third party" and were part of an annual cooperation
    plan.

    Tokyo said it was monitoring the drills closely. "We have conveyed our concerns through
    diplomatic channels," a Japanese government spokesman told a regular briefing.

    - 'No limits' -

    Beijing and Moscow have drawn steadily closer since declaring a partnership with "no
    limits" in early 2022, and their forces now train together several times a year, from
    bomber patrols over the Pacific to naval manoeuvres in northern waters.

    Western officials say the exercises have so far been more about political signalling
    than building forces able to fight side by side.

    "They are practising the choreography of an alliance without signing one," said a
    European diplomat based in Beijing.
    """,
    "china-russia-naval-drill",
)

GROUND_STATION_HACK = _story(
    "ground-station-hack",
    "Hackers disrupt satellite ground station of defence contractor",
    "by Staff Writers",
    "Washington DC (UPI) May 20, 2025",
    """
    A cyberattack forced a US defence contractor to take one of its satellite ground stations
    offline for nearly two days last week, the company said Tuesday, in one of the most
    serious intrusions reported against space infrastructure this year.

    The company, which operates antennas used to control commercial and government
    satellites, said the attackers had gained access through a compromised maintenance
    account and had tried to install software on computers that schedule satellite passes.

    "At no time did the intruders send commands to any spacecraft," a company spokeswoman
    said in a statement. "Our safeguards worked as designed, but we took the station down as
    a precaution."

    Federal investigators are examining the incident, according to two people familiar with
    the matter.

    Security researchers have warned for years that ground networks, rather than the
    satellites themselves, are the weakest link in space systems, because they run on
    ordinary computers connected to the internet.
    """,
    "satellite-ground-station-antenna",
)

INTERCEPT_TEST = _story(
    "intercept-test",
    "Missile Defense Agency Completes Intercept Test Over Pacific",
    "by Staff Writers",
    "Washington (UPI) Nov 06, 2015",
    """
    The US Missile Defense Agency said it had successfully intercepted a medium-range
    ballistic missile target over the Pacific Ocean in a test involving ships and a
    land-based radar.

    The target was launched from an aircraft north of Hawaii and was tracked by a
    forward-based radar before a Navy destroyer fired an interceptor that destroyed it in the
    upper atmosphere, the agency said.

    "This test demonstrated that our sensors and shooters can work together against a
    realistic threat," the agency's director said in a statement.

    Officials said data from the test would be used to refine software for the combat
    system carried by dozens of US and allied warships.

    The agency has conducted more than 80 intercept tests since 2001, with a success rate it
    puts at just over 80 percent.
    """,
    "missile-intercept-pacific",
)

SAHEL_DRONES = _story(
    "sahel-drones",
    "Drones drag Sahel conflict into dangerous new phase",
    "by AFP Staff Writers",
    "Bamako (AFP) May 18, 2025",
    """
    Cheap armed drones are changing the nature of the fighting in the Sahel, where
    governments and armed groups alike now use them to strike targets far from the front
    lines, analysts and residents say.

    "Before, we heard the fighting coming. Now it falls out of the sky without warning," a
    trader in central Mali told AFP by telephone, asking not to be named for his safety.

    Military governments in the region have bought foreign-made drones over the past three
    years and credit them with retaking territory.

    - Armed groups adapt -

    But the militants have adapted, rigging commercial quadcopters with explosives and using
    them against army posts, according to a report by a conflict-monitoring group published
    this month.

    The report counted more than 40 such attacks in the first four months of the year,
    compared with a handful in all of the previous year.

    "Technology that was once the privilege of states is now available to anyone with a few
    thousand dollars," the report's author said. "That is going to make these conflicts
    longer, not shorter."
    """,
    "sahel-drone-strike",
)

MISSILE_TEST_INDIA = _story(
    "india-missile",
    "India test-fires nuclear-capable missile off Odisha coast",
    "by Staff Writers",
    "New Delhi (IANS) Apr 2, 2013",
    """
    India on Tuesday successfully test-fired a nuclear-capable ballistic missile from a test
    range off the coast of Odisha, defence officials said.

    The surface-to-surface missile, which can carry a warhead weighing one tonne, was
    launched from a mobile launcher shortly after 10 a.m. and hit its target in the Bay of
    Bengal, an official of the Defence Research and Development Organisation said.

    "All the mission objectives were met. The missile followed its designated trajectory and
    radars and telemetry stations tracked it throughout," the official said.

    The launch was carried out by the army's Strategic Forces Command as part of a regular
    training exercise, officials said.

    India has developed a family of ballistic missiles over the past three decades and is
    working on longer-range versions.
    """,
    "india-missile-test-odisha",
)

WARNING_SATELLITES = _story(
    "warning-satellites",
    "Air Force orders two more missile warning satellites",
    "by Staff Writers",
    "Los Angeles (UPI) Nov 06, 2015",
    """
    The US Air Force has ordered two more missile warning satellites in a contract worth
    about $1.9 billion, extending a constellation that watches the globe for the infrared
    flash of rocket launches.

    The satellites will be built at a plant in California and are expected to be ready for
    launch early in the next decade, the Air Force Space and Missile Systems Center said.

    "These satellites give us the first indication of a missile launch anywhere on Earth," a
    program official said. "Adding two more keeps that coverage continuous while older
    spacecraft are retired."

    Each satellite carries a scanning sensor and a staring sensor, allowing it to sweep wide
    areas and also dwell on regions of particular interest.

    The contract also covers ground software upgrades and engineering support, the center
    said.
    """,
    "missile-warning-satellite",
)

COMET_MARS = _story(
    "comet-mars",
    "Astronomers Track Comet On Close Approach To Mars",
    "by Staff Writers",
    "Huntsville AL (SPX) Apr 04, 2013",
    """
    A comet discovered earlier this year will pass unusually close to Mars in the autumn of
    next year, and astronomers are refining its orbit to find out just how close.

    Current estimates put the closest approach at roughly 100,000 kilometres from the
    planet's surface, less than a third of the distance between Earth and the Moon, though
    the uncertainty is still large.

    "A few more months of observations will shrink the error bars considerably," said Dr.
    Mara Lindqvist, an astronomer who has been following the comet from an observatory in
    Arizona. "Right now we can say it will be close. We can't yet say how close."

    If the comet sheds as much dust as some models suggest, the spacecraft now orbiting Mars
    could find themselves flying through a thin stream of debris, mission planners said.

    - A rare opportunity -

    Orbiters and rovers at Mars would also have a front-row view of a comet from the outer
    solar system, a chance to study such an object at close range without launching a
    dedicated mission.

    "Nature is delivering a comet to our doorstep," Lindqvist said. "We would be foolish not
    to look."
    """,
    "comet-mars-approach",
)

TURBULENCE = _story(
    "turbulence",
    "Turbulence Simulations Probe Neutron Star Mergers",
    "by Staff Writers",
    "Munich, Germany (SPX) Apr 04, 2013",
    """
    Researchers in Germany have used supercomputer simulations to study the turbulent flows
    that develop when two neutron stars spiral together, a problem that has resisted
    analytical treatment for decades.

    Turbulence, the chaotic swirling of fluids, is well understood in everyday settings but
    becomes far harder to describe when matter moves close to the speed of light in extreme
    gravitational fields.

    The team ran simulations of hot plasma on grids with billions of cells and found that the
    statistical behaviour of the turbulence was surprisingly similar to that seen in ordinary
    fluids.

    "We expected the relativistic case to look very different, and in many respects it
    doesn't," said Dr. Felix Brandauer, who led the study. "That is good news, because it
    means decades of work on classical turbulence can help us."

    The results could improve predictions of the gravitational waves and light emitted by
    neutron star collisions, which detectors now under construction are expected to observe.
    """,
    "neutron-star-turbulence",
)

DRAG_SAIL = _story(
    "drag-sail",
    "Small Satellite Startup Tests Drag Sail In Orbit",
    "by Staff Writers",
    "Glasgow, UK (SPX) April 03, 2013",
    """
    A Scottish start-up said it had successfully deployed a drag sail from a small satellite
    in low Earth orbit, a device designed to bring spacecraft down quickly at the end of
    their missions.

    The sail, made of a thin aluminised film stretched over four folding booms, unfolded to
    an area of about five square metres, the company said, increasing the drag from the thin
    upper atmosphere.

    Engineers expect the satellite to re-enter and burn up within two years, instead of the
    25 years or more it would otherwise remain in orbit.

    "Every satellite launched today should have a plan for leaving orbit," the company's
    chief engineer said. "A sail is one of the simplest and cheapest ways to do it."

    Space agencies have been urging operators to reduce the amount of debris they leave
    behind as the number of small satellites rises.
    """,
    "drag-sail-cubesat",
)

CHINA_CREW = _story(
    "china-crew",
    "China Selects Crew For Next Orbital Laboratory Mission",
    "by Staff Writers",
    "Beijing (UPI) Apr 2, 2013",
    """
    China has selected three astronauts for its next crewed mission to its orbital
    laboratory, state media reported, with the launch expected in the coming months.

    The crew includes two veterans of earlier flights and one first-time flyer, the Xinhua
    news agency said, citing the country's manned space engineering office.

    During their stay of about two weeks, the astronauts will test docking procedures and
    carry out medical and technology experiments, the office said.

    "The mission is an important step towards building a permanent space station," an
    official was quoted as saying.

    China became the third country to put a person into orbit on its own rocket in 2003 and
    has since carried out a series of increasingly complex missions.
    """,
    "china-astronaut-crew",
)

LAUNCHER_OPTIONS = _story(
    "launcher-options",
    "Europe Weighs Options For Its Next Launcher",
    "By Tom Barrow",
    "Paris (AFP) Nov 06, 2015",
    """
    European space ministers will meet next month to decide how much to spend on a new
    generation of rockets, as the continent's launch industry faces growing competition from
    cheaper American vehicles.

    Industry executives say the current heavy launcher, reliable but expensive, risks losing
    commercial customers unless costs come down by as much as half.

    "The market has changed in five years more than it changed in the previous twenty," said
    a senior executive at a European launch company. "We cannot pretend it hasn't."

    - Reusability debate -

    One camp argues that Europe should begin work on reusable first stages at once; another
    says the technology is unproven and that simpler, cheaper expendable rockets are the
    safer bet.

    France and Germany, the two largest contributors to the European Space Agency, have yet
    to agree on a common position, diplomats said.

    Whatever is decided, no new rocket is expected to fly before the early 2020s.
    """,
    "european-launcher",
)

MARS_ICE = _story(
    "mars-ice",
    "Orbiter Maps Water Ice Near Martian South Pole",
    "by Staff Writers",
    "Paris (ESA) Feb 12, 2004",
    """
    Scientists working on data from a European orbiter have produced a detailed map of water
    ice near the south pole of Mars, the European Space Agency said.

    The map, compiled from infrared measurements taken over several weeks, shows a layer of
    frozen water mixed with carbon dioxide ice extending well beyond the edge of the bright
    polar cap.

    "We have known there was water at the poles, but we did not know how much or how it was
    distributed," said a member of the instrument team. "Now we can start to answer those
    questions."

    The findings will help researchers estimate how much water Mars holds today and how its
    climate has changed over millions of years.
    """,
)

SUNSPOTS = _story(
    "sunspots",
    "Century Old Sunspot Drawings Sharpen Solar Cycle Forecasts",
    "by Staff Writers",
    "Boulder CO (SPX) Apr 03, 2013",
    """
    Hand-drawn records of sunspots made by observers more than a hundred years ago are
    helping scientists improve forecasts of the Sun's activity, researchers in Colorado
    reported.

    The team digitised thousands of daily drawings kept at observatories in Europe and North
    America between 1880 and 1920, measuring the position and size of every spot.

    "These observers were remarkably careful," said Dr. Ruth Okafor, who led the project.
    "Their drawings hold information that was never written down in the tables of sunspot
    numbers."

    By adding the older data to modern satellite records, the researchers were able to test
    forecasting models over ten solar cycles instead of three or four.

    Better forecasts matter because solar storms can disrupt satellites, radio
    communications and power grids on Earth.
    """,
    "sunspot-drawing-archive",
)

BONE_LOSS = _story(
    "bone-loss",
    "Astronaut Health Study Tracks Bone Loss On Long Missions",
    "by Staff Writers",
    "Houston TX (SPX) April 03, 2013",
    """
    A study of astronauts who spent six months aboard the International Space Station has
    found that exercise alone cannot fully prevent the loss of bone in the hips and spine,
    researchers said.

    The crew members lost on average about one percent of bone density per month in the hip,
    despite two hours of daily exercise on a treadmill, a bicycle and a resistance machine.

    "Exercise clearly helps -- without it the losses would be far worse -- but it is not the
    whole answer," said the study's lead author, a physician at a Houston research institute.

    Researchers are now testing whether drugs used to treat osteoporosis on Earth could
    protect astronauts on missions lasting a year or more, such as a future journey to Mars.

    Some of the lost bone returned within a year of landing, the study found, but scans
    suggested the structure of the bone did not fully recover.
    """,
    "astronaut-treadmill-iss",
)

REPEATING_BURSTS = _story(
    "repeating-bursts",
    "Radio Telescope Array Detects Repeating Bursts From Distant Galaxy",
    "by Staff Writers",
    "Sydney, Australia (SPX) Nov 06, 2015",
    """
    Astronomers using a radio telescope array in Australia have detected a series of brief,
    powerful radio bursts that appear to come from the same source in a distant galaxy.

    Each burst lasted only a few thousandths of a second but released as much energy as the
    Sun emits in days, the team said.

    "Most of these bursts are seen once and never again, so a source that repeats is a
    gift," said Dr. Aaron Whitfield, an astronomer on the team. "We can go back and look at
    it in detail."

    The finding argues against explanations that involve a one-off catastrophe, such as the
    collapse of a star, and favours a long-lived object such as a highly magnetised neutron
    star.

    The team plans to use optical telescopes to pin down the host galaxy and measure its
    distance.
    """,
    "radio-telescope-array-outback",
)

GLACIERS = _story(
    "glaciers",
    "Satellite Images Show Patagonian Glaciers Retreating Faster",
    "by Staff Writers",
    "Santiago, Chile (SPX) Apr 04, 2013",
    """
    Glaciers in southern Patagonia are shrinking faster than at any time in the past half
    century, according to a study based on four decades of satellite images.

    Researchers compared pictures taken by Earth-observation satellites since the 1970s and
    found that most of the region's large outlet glaciers had retreated by several
    kilometres.

    "The speed-up over the last ten years is striking," said a glaciologist at a university
    in Valdivia who took part in the study. "Some of these glaciers are losing more than a
    metre of thickness every year."

    Meltwater from the ice fields contributes to global sea-level rise and feeds rivers that
    supply farms and hydroelectric plants in Chile and Argentina.

    The team called for more ground measurements to check the satellite estimates, since
    cloud cover often hides the glaciers from view.
    """,
    "patagonia-glacier-retreat",
)

SOIL_MOISTURE = _story(
    "soil-moisture",
    "Soil Moisture Satellite Helps Forecast Crop Failures",
    "by Staff Writers",
    "Rome, Italy (SPX) April 03, 2013",
    """
    Measurements of soil moisture taken from orbit can warn of crop failures weeks before
    they are visible on the ground, scientists working with a United Nations agency said.

    The researchers combined satellite readings of the water held in the top few centimetres
    of soil with rainfall records and crop models for farming regions in East Africa.

    In tests on past seasons, the method flagged poor maize harvests up to six weeks earlier
    than the warnings then in use.

    "Six weeks is the difference between planning a response and reacting to an emergency,"
    said one of the authors. "It gives governments time to buy grain while prices are still
    low."

    The team now hopes to run the system operationally for the coming growing season.
    """,
    "soil-moisture-maize",
)

SAHARAN_DUST = _story(
    "saharan-dust",
    "Saharan dust cloud turns skies orange over southern Spain",
    "by AFP Staff Writers",
    "Madrid (AFP) May 19, 2025",
    """
    A vast cloud of dust blown north from the Sahara turned the skies over southern Spain an
    eerie orange on Monday, prompting health warnings and forcing the cancellation of some
    outdoor events.

    Spain's national weather service said the concentration of dust particles in the air
    over Andalusia had reached several times the level considered safe, and advised people
    with breathing problems to stay indoors.

    "It looks like the light on Mars," said a delivery driver in Málaga, pointing at the hazy
    sky. "My car is covered in red mud after five minutes of rain."

    Such dust episodes have become more frequent in recent years, which scientists link to
    changes in atmospheric circulation over North Africa.

    Forecasters expected the cloud to move east towards the Balearic Islands and southern
    France on Tuesday.
    """,
    "saharan-dust-spain",
)

QUAKE_WARNING = _story(
    "quake-warning",
    "Mexico Expands Earthquake Early Warning Network",
    "by AFP Staff Writers",
    "Mexico City (AFP) Apr 2, 2013",
    """
    Mexico is adding nearly a hundred new seismic sensors to the system that warns the
    capital of approaching earthquakes, officials said Tuesday, extending coverage to the
    states of Oaxaca and Chiapas.

    The warning system, in operation since the early 1990s, detects tremors near the Pacific
    coast and sends an alert to Mexico City, where sirens can sound up to a minute before the
    shaking arrives.

    "Sixty seconds is enough time to leave a building or stop a train," the head of the
    city's civil protection agency said. "Every station we add makes those seconds more
    reliable."

    Mexico City is especially vulnerable because it is built on an ancient lake bed whose
    soft soils amplify seismic waves.

    The expansion is expected to be complete by the end of next year.
    """,
    "mexico-seismic-sensor",
)

MONSOON = _story(
    "monsoon",
    "Monsoon Forecast Points To Normal Rains Across India",
    "by Staff Writers",
    "New Delhi (IANS) Apr 04, 2013",
    """
    India is likely to receive normal rainfall during this year's monsoon season, a private
    weather forecasting agency said Thursday, in welcome news for farmers after two uneven
    years.

    The agency predicted that rains between June and September would be about 100 percent of
    the long-period average, with a good distribution across the main farming states.

    "Conditions in the Pacific are neutral at the moment, and we do not see a strong El Niño
    developing before the end of the season," the agency's chief meteorologist said.

    The monsoon delivers about 70 percent of India's annual rainfall and is crucial for crops
    such as rice, soybeans and cotton.

    The national weather office is expected to release its own first forecast later this
    month.
    """,
    "india-monsoon-clouds",
)

LAYERED_ROCKS = _story(
    "layered-rocks",
    "Rover Team Studies Layered Rocks Near Crater Rim",
    "by Staff Writers",
    "Pasadena CA (JPL) Apr 04, 2013",
    """
    Scientists operating a rover on Mars have begun examining a series of layered rock
    outcrops near the rim of a large crater, hoping to learn how the layers were laid down
    billions of years ago.

    Images sent back this week show fine, evenly spaced bands that team members say could
    have formed in standing water or been deposited by wind.

    "The layering is beautiful, and it is telling us a story," said a geologist on the
    mission team. "Our job now is to work out whether that story involves a lake."

    The rover will spend several weeks at the site, using its camera and spectrometer to
    measure the chemistry of individual layers before moving on.
    """,
    "mars-rover-layered-outcrop",
)

ANALOG_CREW = _story(
    "analog-crew",
    "Desert Crew Wraps Up Mars Analog Mission In Utah",
    "by Staff Writers",
    "Hanksville UT (SPX) April 03, 2013",
    """
    Six volunteers emerged on Wednesday from two weeks of simulated Mars exploration at a
    research station in the Utah desert, where they lived in a small habitat and wore mock
    spacesuits whenever they went outside.

    The crew, made up of engineers and students from four countries, tested a prototype
    rover, collected rock samples and practised communication with a 20-minute delay to
    mimic the distance to Mars.

    "The delay changes everything," said the crew commander, a mechanical engineer from
    Canada. "You can't ask mission control a quick question. You have to learn to solve
    problems on your own."

    Data from the mission on the crew's workload and sleep will be shared with researchers
    studying the psychology of long spaceflights.
    """,
    "mars-analog-habitat-utah",
)

FRESH_CRATER = _story(
    "fresh-crater",
    "Orbiter Spots Fresh Impact Crater On Mars",
    "by Staff Writers",
    "Tucson AZ (SPX) Apr 2, 2013",
    """
    A camera aboard a spacecraft orbiting Mars has photographed a fresh impact crater that
    was not there in images of the same spot taken two years earlier.

    The crater, about 30 metres across, is surrounded by a splash of dark material thrown out
    by the impact, which stands out clearly against the dusty surface.

    "Finding a new crater is like catching the planet in the act," said a researcher who
    studies the images. "It tells us how often Mars is still being hit today."

    Scientists use counts of such craters to estimate the ages of surfaces across the solar
    system, and observing new ones helps to calibrate that method.
    """,
    "mars-fresh-impact-crater",
)

METHANE = _story(
    "methane",
    "Scientists Debate Methane Readings From Red Planet",
    "By Helene Marchand",
    "Paris (AFP) Nov 06, 2015",
    """
    Puzzling measurements of methane in the atmosphere of Mars have divided scientists, with
    some seeing a possible sign of life and others suspecting an error in the instruments.

    Methane on Earth is produced mostly by living organisms, but it can also come from
    geological processes such as the reaction of water with certain rocks.

    "The numbers go up and down in ways we do not yet understand," a French planetary
    scientist told AFP. "Until they are repeated and confirmed, we should be careful."

    - Next steps -

    A European orbiter due to arrive at Mars next year carries instruments sensitive enough
    to detect methane at levels of a few parts per trillion.

    "If the methane is there, we will find it. If it is not, we will know that too," the
    scientist said.
    """,
    "mars-methane-plume",
)

GREENHOUSE = _story(
    "greenhouse",
    "Students Design Greenhouse For Future Martian Outpost",
    "by Staff Writers",
    "Bremen, Germany (SPX) April 03, 2013",
    """
    A team of engineering students has designed an inflatable greenhouse that could grow
    fresh vegetables for astronauts living at a base on Mars.

    The design uses LED lights tuned to the wavelengths plants use most, and recycles water
    through a closed loop so that almost none is lost.

    "Fresh food is not a luxury on a long mission," one of the students said. "It is good for
    the crew's health and for their morale."

    The team will test a small prototype this summer, growing lettuce and radishes in a
    sealed chamber.
    """,
    "mars-greenhouse-prototype",
)

GEO_ORDER = _story(
    "geo-order",
    "Satellite Operator Orders Four Geostationary Platforms",
    "by Staff Writers",
    "Paris (SPX) Nov 06, 2015",
    """
    A European satellite operator has ordered four geostationary communications satellites
    from a manufacturer in Toulouse, in one of the largest commercial orders of the year.

    The satellites, which will each weigh about five tonnes at launch, will provide
    television broadcasting and broadband services over Europe, the Middle East and Africa.

    "These satellites will replace ageing spacecraft and add capacity where our customers
    need it," the operator's chief executive said in a statement. He did not disclose the
    value of the contract.

    The first satellite is expected to be launched in 2018, with the others following at
    intervals of about six months.
    """,
    "geostationary-satellite-assembly",
)

RIDESHARE = _story(
    "rideshare",
    "Launch Broker Signs Deal For Rideshare Flights",
    "by Staff Writers",
    "Seattle WA (SPX) November 05, 2015",
    """
    A Seattle company that books space on rockets for small satellites has signed an
    agreement to fly customer payloads on at least six launches over the next three years.

    The company acts as a broker, collecting satellites from universities, start-ups and
    government agencies and arranging their integration with a rocket's main payload.

    "For a small satellite, getting to orbit used to mean waiting years for a spare seat,"
    the firm's founder said. "We want to make it as simple as booking freight."

    The company said it already had commitments for more than half of the available
    capacity.
    """,
    "rideshare-payload-adapter",
)

EXPORT_CONTROLS = _story(
    "export-controls",
    "Washington Presses Allies On Export Controls For Satellite Parts",
    "By Tom Barrow",
    "Washington (AFP) Nov 06, 2015",
    """
    The United States is pressing its allies to tighten controls on the export of satellite
    components that could help rival powers build military space systems, officials said
    Friday.

    Talks with European and Asian partners have focused on star trackers,
    radiation-hardened electronics and high-resolution camera parts, according to two
    officials involved in the discussions.

    "We've relaxed our own rules for commercial satellites in recent years, and we want our
    partners to be on the same page about what still needs protecting," one of the officials
    said.

    - Industry worries -

    Manufacturers on both sides of the Atlantic have warned that stricter controls could
    cost them sales to customers in fast-growing markets.

    "Every restriction is a gift to our competitors in countries that do not apply them," an
    executive at a European components firm said.
    """,
    "satellite-components-cleanroom",
)

LUNAR_ENGINE = _story(
    "lunar-engine",
    "Lunar lander startup completes engine qualification",
    "by Staff Writers",
    "Denver CO (SPX) Feb 03, 2026",
    """
    A Colorado start-up building a small lunar lander said it had completed qualification
    testing of its main engine, clearing one of the last technical hurdles before its first
    mission to the Moon.

    The engine, which burns a mix of storable propellants, fired for a total of more than 40
    minutes across dozens of tests in a vacuum chamber, simulating the descent and landing
    sequence several times over.

    "We threw everything at it, including restarts after long cold soaks, and it did what it
    was supposed to do every time," the company's head of propulsion said.

    The lander is designed to carry up to 150 kilograms of scientific instruments and
    commercial payloads to the lunar surface.

    The company is targeting a launch in the first half of next year.
    """,
    "lunar-lander-engine-test",
)

DEBRIS_STUDY = _story(
    "debris-study",
    "ESA selects two firms for debris removal study",
    "by Staff Writers",
    "Paris, France (ESA) Feb 02, 2026",
    """
    The European Space Agency has selected two companies to study a mission that would
    capture a defunct satellite and drag it out of orbit, the agency said.

    Each firm will receive a contract to produce a preliminary design within 18 months,
    after which the agency will decide whether to proceed to construction.

    "Removing large objects is the only way to keep the most crowded orbits usable in the
    long term," an agency official said.

    The target would be a decommissioned satellite of about one tonne in a polar orbit,
    where collisions are most likely.
    """,
    "debris-removal-capture",
)

ANTARCTIC_ICE = _story(
    "antarctic-ice",
    "Antarctic sea ice nears record summer low, satellites show",
    "by AFP Staff Writers",
    "Hobart, Australia (AFP) Feb 01, 2026",
    """
    Sea ice around Antarctica has shrunk to near its smallest summer extent since satellite
    records began, researchers said, continuing a run of low years that has alarmed polar
    scientists.

    Satellite data showed the ice covering about two million square kilometres at the end of
    January, close to the record low, according to a research centre in Tasmania.

    "A few years ago we would have called this an extreme event. Now it is becoming normal,"
    said an oceanographer at the centre.

    Less sea ice means more of the Sun's heat is absorbed by the dark ocean, which in turn
    can delay the ice's recovery in winter.

    Researchers are deploying floats and drones to measure ocean temperatures beneath the ice
    edge this season.
    """,
    "antarctic-sea-ice-edge",
)

SCOUT_HELICOPTER = _story(
    "scout-helicopter",
    "Mars scout helicopter concept passes design review",
    "by Staff Writers",
    "Pasadena CA (JPL) Jan 30, 2026",
    """
    A concept for a larger helicopter that could scout ahead of future Mars rovers and carry
    small instruments has passed a preliminary design review, engineers said.

    The design has six rotors and could fly up to three kilometres in a single flight,
    several times farther than the technology demonstrator that flew on Mars earlier this
    decade.

    "We learned an enormous amount from flying in such thin air," the project's lead engineer
    said. "This design puts those lessons to work."

    No mission has yet been selected to carry the helicopter, but the team hopes it could fly
    on a lander in the 2030s.
    """,
    "mars-helicopter-concept",
)

LAUNCH_RECORD = _story(
    "launch-record",
    "Commercial launch providers close record year",
    "by Staff Writers",
    "Washington DC (UPI) Jan 28, 2026",
    """
    Commercial rocket companies launched more satellites last year than in any previous
    year, according to an industry report released Wednesday, with small broadband
    satellites making up most of the total.

    The report counted more than 250 orbital launch attempts worldwide, most of them by a
    handful of operators.

    "Demand shows no sign of slowing down," the report's author said. "The constraint is now
    the number of launch pads and range slots, not the number of rockets."

    The report also warned that the growing number of satellites is making it harder for
    astronomers to observe the sky without streaks from passing spacecraft.
    """,
    "launch-pad-night",
)

OPTICAL_CLOCK = _story(
    "optical-clock",
    "Optical clock payload ready for flight to space station",
    "by Staff Writers",
    "Bern, Switzerland (SPX) Feb 04, 2026",
    """
    An optical atomic clock built to fly on the International Space Station has passed its
    final tests and will be shipped to the launch site next month, its developers said.

    The clock is expected to be about a hundred times more stable than those carried by
    navigation satellites today, allowing tests of Einstein's theory of general relativity
    with new precision.

    "Comparing clocks in orbit and on the ground lets us see time running at different
    speeds, exactly as relativity predicts," said a physicist on the team. "The question is
    whether the prediction holds to the last decimal place."

    The clock will also be used to compare time standards between laboratories on different
    continents.
    """,
    "optical-clock-payload",
)


# --------------------------------------------------------------------------------- articles

ARTICLES: tuple[Article, ...] = (
    # SpaceWar
    _classic(
        "sw-arctic",
        SPACEWAR,
        ARCTIC,
        "SUPERPOWERS",
        related=(SPACE_WAR_NEWS, NATO),
        # The only link to the TerraDaily dust story: a sister site's teaser.
        teasers=("td-dust", "sw-baltic"),
        tags=("syndicated-original", "latin1-bytes", "subheading"),
    ),
    _classic(
        "sw-baltic",
        SPACEWAR,
        BALTIC,
        "WAR REPORT",
        related=(SPACE_WAR_NEWS, NATO),
        teasers=("sw-japan-radar", "sw-nk"),
        extra=(Link(DEAD_SPACEWAR, "Pentagon weighs orbital refuelling depot"),),
        tags=("links-dead-page", "subheading"),
    ),
    _classic(
        "sw-japan-radar",
        SPACEWAR,
        JAPAN_RADAR,
        "MISSILE DEFENSE",
        related=(SPACE_WAR_NEWS,),
        teasers=("sw-nk",),
    ),
    _classic(
        "sw-nk",
        SPACEWAR,
        NK_MISSILES,
        "WAR REPORT",
        related=(SPACE_WAR_NEWS, NUKES),
        teasers=("sw-japan-radar", "sw-baltic"),
    ),
    _classic(
        "sw-drills",
        SPACEWAR,
        NAVAL_DRILLS,
        "SUPERPOWERS",
        related=(SUPERPOWERS, NUKES),
        teasers=("sw-arctic",),
        tags=("section-only", "personal-byline", "subheading"),
    ),
    _classic(
        "sw-hack",
        SPACEWAR,
        GROUND_STATION_HACK,
        "CYBER WARS",
        related=(SPACE_WAR_NEWS,),
        tags=("feed-only",),
    ),
    _classic(
        "sw-intercept",
        SPACEWAR,
        INTERCEPT_TEST,
        "MISSILE DEFENSE",
        suffix=False,
        related=(SPACE_WAR_NEWS, Link("https://www.mda.mil/", "Missile Defense Agency")),
        teasers=("sw-warning-sats",),
        tags=("no-999",),
    ),
    _classic(
        "sw-sahel",
        SPACEWAR,
        SAHEL_DRONES,
        "WAR REPORT",
        related=(SPACE_WAR_NEWS,),
        teasers=("sw-baltic",),
        cp1252=True,
        tags=("cp1252-bytes", "subheading"),
    ),
    _classic(
        "sw-india-missile",
        SPACEWAR,
        MISSILE_TEST_INDIA,
        "NUKEWARS",
        related=(NUKES,),
        teasers=("sw-nk",),
        tags=("ians",),
    ),
    _classic(
        "sw-warning-sats",
        SPACEWAR,
        WARNING_SATELLITES,
        "MILPLEX",
        related=(SPACE_WAR_NEWS,),
        teasers=("sw-intercept",),
        tags=("syndicated-original",),
    ),
    # SpaceDaily, classic www pages
    _classic(
        "sd-comet",
        SPACEDAILY,
        COMET_MARS,
        "ASTEROID AND COMET MINING",
        related=(JPL, MARS_NEWS),
        teasers=("md-crater", "sd-turbulence"),
        tags=("subheading",),
    ),
    _classic(
        "sd-turbulence",
        SPACEDAILY,
        TURBULENCE,
        "STELLAR CHEMISTRY",
        related=(Link("https://www.mpg.de/", "Max Planck Society"), SPACE_NEWS),
        teasers=("sd-bursts",),
    ),
    _classic(
        "sd-drag-sail",
        SPACEDAILY,
        DRAG_SAIL,
        "TECH SPACE",
        related=(SPACE_NEWS,),
        teasers=("sd-china-crew",),
    ),
    _classic(
        "sd-china-crew",
        SPACEDAILY,
        CHINA_CREW,
        "CHINA SPACE",
        related=(SPACE_NEWS,),
        teasers=("sd-drag-sail",),
    ),
    _classic(
        "sd-launchers",
        SPACEDAILY,
        LAUNCHER_OPTIONS,
        "LAUNCH PAD",
        suffix=False,
        related=(ESA, SPACE_NEWS),
        teasers=("sm-rideshare",),
        tags=("no-999", "personal-byline", "subheading"),
    ),
    _classic(
        "sd-mars-ice",
        SPACEDAILY,
        MARS_ICE,
        "MARS EXPLORATION",
        path="/news/mars-04g.html",
        related=(ESA,),
        tags=("pre-2005",),
    ),
    _classic(
        "sd-sunspots",
        SPACEDAILY,
        SUNSPOTS,
        "SOLAR SCIENCE",
        related=(NOAA, SPACE_NEWS),
        tags=("section-only",),
    ),
    _classic(
        "sd-bone-loss",
        SPACEDAILY,
        BONE_LOSS,
        "SPACE MEDICINE",
        related=(NASA,),
        teasers=("sd-china-crew",),
        cp1252=True,
        tags=("cp1252-bytes",),
    ),
    _classic(
        "sd-bursts",
        SPACEDAILY,
        REPEATING_BURSTS,
        "TIME AND SPACE",
        related=(SPACE_NEWS,),
        teasers=("sd-turbulence",),
    ),
    # TerraDaily
    _classic(
        "td-arctic",
        TERRADAILY,
        ARCTIC,
        "ICE WORLD",
        related=(EARTH_NEWS,),
        teasers=("td-glaciers",),
        copy_of="sw-arctic",
        tags=("syndicated-copy", "latin1-bytes", "subheading"),
    ),
    _classic(
        "td-glaciers",
        TERRADAILY,
        GLACIERS,
        "EARTH OBSERVATION",
        related=(EARTH_NEWS,),
        teasers=("td-quake",),
    ),
    _classic(
        "td-soil",
        TERRADAILY,
        SOIL_MOISTURE,
        "FARM NEWS",
        related=(Link("https://www.fao.org/", "Food and Agriculture Organization"), EARTH_NEWS),
        tags=("section-only",),
    ),
    _classic(
        "td-dust",
        TERRADAILY,
        SAHARAN_DUST,
        "WEATHER REPORT",
        related=(EARTH_NEWS,),
        teasers=("td-glaciers",),
        tags=("sister-page-only", "latin1-bytes"),
    ),
    _classic(
        "td-quake",
        TERRADAILY,
        QUAKE_WARNING,
        "QUAKE ZONE",
        related=(EARTH_NEWS,),
        teasers=("td-monsoon",),
    ),
    _classic(
        "td-monsoon",
        TERRADAILY,
        MONSOON,
        "WATER WORLD",
        related=(EARTH_NEWS,),
        teasers=("td-quake",),
        tags=("ians", "latin1-bytes"),
    ),
    # MarsDaily (its feed is broken; the home page and SpaceDaily's feed lead here)
    _classic(
        "md-layers",
        MARSDAILY,
        LAYERED_ROCKS,
        "ROVER NEWS",
        related=(JPL, MARS_NEWS),
        teasers=("md-crater",),
        tags=("sister-feed-only",),
    ),
    _classic(
        "md-analog",
        MARSDAILY,
        ANALOG_CREW,
        "MARS ANALOG",
        related=(MARS_NEWS,),
        teasers=("md-greenhouse",),
    ),
    _classic(
        "md-crater",
        MARSDAILY,
        FRESH_CRATER,
        "MARS EXPLORATION",
        related=(MARS_NEWS,),
        teasers=("sd-mars-ice", "md-methane"),
    ),
    _classic(
        "md-methane",
        MARSDAILY,
        METHANE,
        "RED PLANET",
        related=(ESA, MARS_NEWS),
        teasers=("md-crater",),
        tags=("personal-byline", "subheading"),
    ),
    _classic(
        "md-greenhouse",
        MARSDAILY,
        GREENHOUSE,
        "MARS ANALOG",
        related=(MARS_NEWS,),
        teasers=("md-analog",),
    ),
    # SpaceMart
    _classic(
        "sm-warning-sats",
        SPACEMART,
        WARNING_SATELLITES,
        "SPACE INDUSTRY",
        related=(INDUSTRY_NEWS,),
        teasers=("sm-geo-order",),
        copy_of="sw-warning-sats",
        tags=("syndicated-copy",),
    ),
    _classic(
        "sm-geo-order",
        SPACEMART,
        GEO_ORDER,
        "SATELLITE INDUSTRY",
        related=(INDUSTRY_NEWS,),
        teasers=("sm-rideshare",),
    ),
    _classic(
        "sm-rideshare",
        SPACEMART,
        RIDESHARE,
        "LAUNCH PAD",
        related=(INDUSTRY_NEWS,),
        teasers=("sm-geo-order",),
    ),
    _classic(
        "sm-export",
        SPACEMART,
        EXPORT_CONTROLS,
        "SUPERPOWERS",
        related=(SUPERPOWERS, Link("https://www.state.gov/", "US State Department")),
        teasers=("sm-warning-sats",),
        tags=("personal-byline", "subheading"),
    ),
    # SpaceDaily, the newer platform
    _newer(
        "wp-lunar-engine",
        "lunar-lander-startup-completes-engine-qualification-999",
        LUNAR_ENGINE,
        "Moon",
        48213,
        related=(NASA,),
        teasers=("wp-debris", "wp-launch-record"),
        extra=(Link(DEAD_NEWER, "Moon base power study withdrawn"),),
        tags=("links-dead-page",),
    ),
    _newer(
        "wp-debris",
        "sd-esa-selects-two-firms-for-debris-removal-study",
        DEBRIS_STUDY,
        "Space Industry",
        48207,
        related=(ESA,),
        teasers=("wp-lunar-engine",),
    ),
    _newer(
        "wp-antarctic",
        "t-antarctic-sea-ice-nears-record-summer-low-satellites-show",
        ANTARCTIC_ICE,
        "Earth",
        48199,
        related=(NOAA,),
        teasers=("wp-debris",),
    ),
    _newer(
        "wp-helicopter",
        "m-mars-scout-helicopter-concept-passes-design-review",
        SCOUT_HELICOPTER,
        "Mars",
        48188,
        related=(JPL,),
        teasers=("wp-lunar-engine",),
    ),
    _newer(
        "wp-launch-record",
        "commercial-launch-providers-close-record-year",
        LAUNCH_RECORD,
        "Launch",
        48171,
        teasers=("wp-debris",),
    ),
    _newer(
        "wp-optical-clock",
        "sd-optical-clock-payload-ready-for-flight-to-space-station",
        OPTICAL_CLOCK,
        "Technology",
        48220,
        tags=("feed-only",),
    ),
)

ARTICLES_BY_KEY: dict[str, Article] = {a.key: a for a in ARTICLES}
