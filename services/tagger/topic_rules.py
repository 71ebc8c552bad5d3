"""Keyword layer for the 17 IPTC top-level media topics: hand-written English lexicons.

Why a keyword layer at all: the training corpora (Wikipedia Portal:Current events and a
slice of HuffPost) have no examples of *labour* or *weather*, only a few dozen of
*education*, and little for *human interest*, *society* or *lifestyle and leisure*.
A statistical model cannot learn those classes, so each class gets a lexicon written from
the IPTC definitions of the class and its level-2 subjects (not from any data set). The
lexicons act as a prior on the model's weights (see `services.tagger.topics`): every
lexicon term adds a fixed amount to its class's weight, so a text that uses the vocabulary
of a class scores higher for it, whether or not the model saw that class.

Each lexicon is a comma-separated list of lower-case words or phrases; the tokenizer joins
the phrases with "_" (e.g. "climate change" -> "climate_change"), so a phrase counts as
one token both in training and at run time. Avoid words that are common in other senses
("party", "labour" the UK party, "star", "director", "cup").
"""

from __future__ import annotations

TOPIC_LEXICONS: dict[str, str] = {
    # arts, culture, entertainment and media
    "medtop:01000000": """
        film, films, movie, movies, cinema, cinemas, actor, actress, actors, actresses,
        filmmaker, album, albums, song, songs, singer, singers, songwriter, concert,
        concerts, musician, musicians, orchestra, opera, ballet, theatre, theater,
        musical, musicals, novel, novels, novelist, poet, poetry, museum, museums,
        exhibition, gallery, painting, paintings, sculpture, artist, artists, oscar, oscars,
        grammy, grammys, bafta, emmy, emmys, golden globe, box office, hollywood, bollywood,
        sitcom, documentary, premiere, soundtrack, rapper, pop star, rock band, comedian,
        comedy, celebrity, celebrities, broadcaster, newspaper, journalism, tv series,
        television series, streaming service, netflix, episode, sequel, blockbuster, box
        set, festival, literature, literary, bestseller, publisher, entertainment, showbiz,
        box office hit, music industry, record label, film festival, art exhibition,
        talent show, reality show, reality tv, red carpet, lead role, starring
    """,
    # crime, law and justice
    "medtop:02000000": """
        police, arrested, arrest, arrests, charged, court, courts, judge, judges, jury,
        trial, sentenced, sentence, prison, prisoners, jail, jailed, murder, murdered,
        murders, theft, robbery, burglary, fraud, lawsuit, sued, prosecutor, prosecutors,
        prosecution, convicted, conviction, guilty, acquitted, lawyer, lawyers, attorney,
        supreme court, crime, crimes, criminal, criminals, suspect, suspects, detective,
        detectives, smuggling, trafficking, bribery, extradition, verdict, homicide, gang,
        gangs, cartel, indicted, indictment, manslaughter, assault, kidnapping, kidnapped,
        custody, parole, magistrate, tribunal, law enforcement, police officers
    """,
    # disaster, accident and emergency incident
    "medtop:03000000": """
        earthquake, earthquakes, tsunami, flood, floods, flooding, hurricane, typhoon,
        cyclone, tornado, wildfire, wildfires, bushfire, landslide, landslides, avalanche,
        volcano, eruption, crash, crashed, derailed, derailment, collision, explosion,
        blaze, firefighters, rescue, rescuers, survivors, death toll, evacuated, evacuation,
        emergency, disaster, disasters, capsized, shipwreck, drowned, plane crash, accident,
        accidents, collapsed, collapse, stampede, mudslide, aftershock, magnitude, emergency
        services, search and rescue
    """,
    # economy, business and finance
    "medtop:04000000": """
        economy, economic, economies, business, businesses, company, companies, firm, firms,
        shares, shareholders, stock, stocks, market, markets, profit, profits, revenue,
        revenues, sales, earnings, quarterly, investors, investment, investor, bank, banks,
        banking, interest rates, inflation, gdp, recession, bankruptcy, merger, acquisition,
        takeover, ceo, chief executive, dollar, currency, exports, imports, tariff, tariffs,
        oil prices, retail, retailer, retailers, consumer, consumers, prices, finance,
        financial, stock market, nasdaq, dow jones, ftse, imf, central bank, federal
        reserve, debt, bonds, ipo, startup, startups, analysts, economist, economists,
        turnover, dividend, billion, industry, manufacturing, trade deficit,
        earnings per share, quarterly results, profit warning, share price, stock exchange,
        wall street, chief financial officer, mergers, acquisitions, antitrust, shareholder, market share,
        airline, airlines, carmaker, automaker, oil price, crude oil, opec, sales growth
    """,
    # education
    "medtop:05000000": """
        school, schools, pupils, pupil, students, student, teacher, teachers, teaching,
        university, universities, college, colleges, campus, education, educational,
        curriculum, exam, exams, examinations, classroom, classrooms, tuition fees,
        graduates, graduation, kindergarten, preschool, literacy, scholarship, scholarships,
        headteacher, head teacher, lecturer, lecturers, school board, homework, semester,
        enrolment, enrollment, undergraduate, undergraduates, schooling, vocational training,
        school year, secondary school, primary school, high school, education minister
    """,
    # environment
    "medtop:06000000": """
        environment, environmental, climate change, global warming, emissions, carbon,
        pollution, polluted, pollutants, deforestation, biodiversity, endangered species,
        wildlife, conservation, renewable, renewables, renewable energy, wind farm,
        recycling, plastic waste, greenhouse gas, greenhouse gases, fossil fuels, coral
        reef, ecosystem, ecosystems, habitat, extinction, national park, environmentalists,
        sustainability, sustainable, air quality, oil spill, net zero, climate activists,
        conservationists, poaching
    """,
    # health
    "medtop:07000000": """
        health, hospital, hospitals, patients, patient, doctors, doctor, nurses, nurse,
        disease, diseases, virus, outbreak, epidemic, pandemic, vaccine, vaccines,
        vaccination, cancer, diabetes, hiv, malaria, covid, coronavirus, infection,
        infections, medical, medicine, medicines, treatment, surgery, surgeon, mental
        health, obesity, symptoms, clinic, clinics, nhs, healthcare, health care, cholera,
        ebola, influenza, flu, dementia, alzheimer's, public health, heart disease,
        stroke, therapy, drugs, clinical trial,
        hospitalised, hospitalized, health officials, health ministry, world health organization,
        medical research, drug maker, drugmaker, pharmaceutical, pharmaceuticals
    """,
    # human interest
    "medtop:08000000": """
        heartwarming, adorable, viral, bizarre, quirky, centenarian, reunited,
        reunion, dog, dogs, cat, cats, puppy, puppies, kitten, kittens, pet, pets, zoo,
        hero, heroic, kindness, good samaritan, weird, lottery, jackpot,
        twins, world record, guinness, record breaking, birthday, animal
        lovers, internet sensation
    """,
    # labour
    "medtop:09000000": """
        workers, employees, employment, unemployment, jobless, wage, wages, minimum wage,
        salary, salaries, pay rise, pay dispute, strike, strikes, striking, walkout,
        walkouts, trade union, trade unions, unions, union members, labor union, labor
        unions, collective bargaining, layoffs, laid off, redundancies, job cuts, job
        losses, workforce, workplace, pension, pensions, retirement age, working conditions,
        overtime, labour market, labor market, labour law, labor law, child labour, child
        labor, picket, industrial action, unemployment rate, unemployment benefits,
        jobseekers, employer, employers
    """,
    # lifestyle and leisure
    "medtop:10000000": """
        travel, tourism, tourists, tourist, holiday, holidays, vacation, vacations, hotel,
        hotels, restaurant, restaurants, recipe, recipes, cooking, chef, chefs, food, foods,
        wine, wines, beer, cocktail, cocktails, fashion, beauty, makeup, skincare,
        fitness, workout, yoga, gardening, garden, gardens, hobby, hobbies, interior design,
        shopping, wedding, weddings, dating, leisure, cruise, camping, hiking, dessert,
        desserts, baking, cuisine, dining, destination, destinations, spa, lifestyle
    """,
    # politics
    "medtop:11000000": """
        government, minister, ministers, prime minister, parliament, parliamentary,
        election, elections, elected, vote, votes, voters, voting, ballot, political,
        politics, politician, politicians, senate, senator, senators, congress,
        congressional, lawmakers, legislation, opposition, cabinet, diplomatic, diplomat,
        diplomats, embassy, sanctions, referendum, democrats, republicans, conservatives,
        tory, tories, mps, mp, coalition, governor, mayor, chancellor, president,
        presidential, campaign trail, manifesto, polls, constituency, foreign minister,
        foreign secretary, home secretary, white house, downing street, european union, eu,
        summit, bilateral, treaty,
        election campaign, general election, midterm elections, polling station, opposition leader,
        party leader, head of state, parliament speaker, state department, foreign policy
    """,
    # religion
    "medtop:12000000": """
        church, churches, religious, religion, pope, vatican, bishop, bishops, archbishop,
        priest, priests, mosque, mosques, imam, muslim, muslims, christian, christians,
        christianity, catholic, catholics, protestant, jewish, judaism, synagogue, rabbi,
        hindu, hinduism, temple, buddhist, buddhism, monk, monks, faith, worship, prayer,
        prayers, pilgrimage, pilgrims, clergy, sermon, bible, quran, ramadan, diocese,
        evangelical, theology
    """,
    # science and technology
    "medtop:13000000": """
        science, scientists, scientist, researchers, technology, tech, robot, robots, robotics,
        artificial intelligence, algorithm, algorithms, satellite, satellites, rocket, nasa,
        spacecraft, astronauts, astronomers, telescope, planet, physics, chemistry, biology,
        genetic, genome, dna, laboratory, experiment, innovation, cyber, hackers, hacking
    """,
    # society
    "medtop:14000000": """
        poverty, homeless, homelessness, welfare, charity, charities, inequality,
        discrimination, racism, racist, gender, lgbt, lgbtq, same sex, gay, transgender,
        human rights, civil rights, immigrants, migrants, abortion, parenting,
        divorce, marriage, volunteers, elderly, disability,
        disabled, adoption, feminism, women's rights, social care, social services, housing
        crisis, child care, childcare, addiction
    """,
    # sport
    "medtop:15000000": """
        football, soccer, cricket, rugby, tennis, golf, basketball, baseball, hockey,
        athletics, olympic, olympics, world cup, championship, champions league, premier
        league, match, matches, tournament, coach, striker, goalkeeper, midfielder,
        defender, goal, goals, scored, teams, player, players, medal, medals, racing,
        formula one, grand prix, marathon, boxing, boxer, wimbledon, nba, nfl, fifa, uefa,
        stadium, referee, innings, wicket, semi final, quarter final, season, fans, squad,
        sprinter, cyclist, cycling, swimming, athlete, athletes,
        quarterback, touchdown, pitcher, inning, playoff, playoffs, rookie, batting, bowler,
        motorsport, pole position, grand slam, heavyweight, knockout, hat trick, title race, relegation,
        transfer window, home run, free kick, penalty shootout, test match, world series, super bowl
    """,
    # conflict, war and peace
    "medtop:16000000": """
        war, wars, military, army, troops, soldiers, militants, militant, insurgents,
        rebels, rebel, airstrike, airstrikes, air strikes, bombing, bombings, bomb, bombs,
        attacks, ceasefire, peace talks, peace agreement, peace deal, armed forces, weapons,
        missile, missiles, terrorist, terrorists, terrorism, taliban, isis, al qaeda,
        jihadist, conflict, clashes, protest, protests, protesters, demonstrators, riot,
        riots, invasion, occupation, shelling, drone strike, casualties, hostages,
        insurgency, coup, genocide, security forces, militia, peacekeepers, peacekeeping,
        gunmen, suicide bomber, suicide bombing, car bomb, roadside bomb, warplanes,
        artillery, frontline, front line, battlefield, hostilities
    """,
    # weather
    "medtop:17000000": """
        weather, forecasters, meteorologist, meteorologists,
        meteorological, met office, temperatures, temperature, heatwave, heat wave, cold
        snap, snow, snowfall, snowstorm, blizzard, rain, rainfall, showers, thunderstorm,
        thunderstorms, storms, frost, fog, sunshine, sunny, cloudy, humidity, winds,
        gusts, monsoon, el niño, la niña, celsius, fahrenheit, weather warning, national
        weather service, hottest, coldest, wettest, driest, heat index, wind chill
    """,
}


# Sub-areas of a class that the training corpora do not cover, although the corpora cover
# the class: the portal's "science and technology" is mostly science and space, with little
# of the computing / consumer-technology news that makes up much of a tech desk; its
# "armed conflicts and attacks" are violent events, while IPTC's class also holds military
# activity, defence and geopolitical confrontation. These terms get the weight of the
# lexicon-only classes (see ops/train_topics/README.md).
GAP_LEXICONS: dict[str, str] = {
    "medtop:13000000": """
        software, hardware, computer, computers, computing, internet, online, digital, website,
        websites, smartphone, smartphones, mobile phone, mobile phones, iphone, android,
        microsoft, google, app, apps, gadget, gadgets, broadband, wireless, wifi, malware, spam,
        email, browser, chip, chips, semiconductor, semiconductors, processor, laptop, laptops,
        pc, pcs, console, consoles, video game, video games, gaming, gamers, playstation, xbox,
        nintendo, search engine, users, web, operating system, devices, device, ibm, intel,
        amd, dell, hewlett packard, oracle, linux, unix, open source, cisco, nokia, samsung,
        motorola, nvidia, qualcomm, yahoo, facebook, twitter, youtube, instagram, whatsapp,
        tiktok, openai, chatgpt, ipod, ipad, blackberry, silicon valley, telecoms,
        telecommunications, bluetooth, cloud computing, server, servers, database, encryption,
        supercomputer, microchip, tech giant, tech firm, cybersecurity, spyware, download,
        downloads, file sharing, peer to peer
    """,
    "medtop:16000000": """
        nato, navy, air force, defence, defense, ministry of defence, geopolitical,
        geopolitical tensions, military alliance, allies, allied, alliance, deterrence,
        defence spending, defense spending, military exercises, warships, warship, submarines,
        fighter jets, nuclear weapons, arms sales, arms race, rearmament, missile defence,
        missile defense, deployment, deployed, national security, collective defence,
        collective defense, defence minister, defense secretary, pentagon, annexation, annex,
        territorial integrity, hostile, military base, airbase, military operation, eastern flank
    """,
}


def _parse(text: str) -> tuple[str, ...]:
    return tuple(" ".join(term.split()) for term in text.split(",") if term.strip())


LEXICONS: dict[str, tuple[str, ...]] = {code: _parse(text) for code, text in TOPIC_LEXICONS.items()}
GAPS: dict[str, tuple[str, ...]] = {code: _parse(text) for code, text in GAP_LEXICONS.items()}

# Multi-word terms: the tokenizer joins them into one token (training and run time alike).
PHRASES: frozenset[str] = frozenset(
    term for table in (LEXICONS, GAPS) for terms in table.values() for term in terms if " " in term
)


def lexicon_terms(code: str, *, gap: bool = False) -> list[str]:
    """One class's lexicon (or gap lexicon) as tokens: phrases joined with "_"."""
    return [term.replace(" ", "_") for term in (GAPS if gap else LEXICONS).get(code, ())]
