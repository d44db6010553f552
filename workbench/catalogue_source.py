"""The translations of the workbench catalogue, the source ``scripts/workbench-catalogue`` writes
``kinship/locale/{en,zh_CN}/LC_MESSAGES/workbench.po`` from (terms of ``kinship/locale/GLOSSARY.md``,
GB/T 37223-2018 wording; a native forensic reviewer should read them before a lab relies on them).

``EN`` gives the English of the msgids that are keys rather than text (roles, statuses, fields);
every other English text is its msgid. ``ZH`` gives the Simplified Chinese of every msgid.
"""

from __future__ import annotations

EN = {
    "lab_staff": "lab staff", "case_manager": "case manager", "supervisor": "supervisor", "auditor": "auditor",
    "propose_confirm": "confirmation proposed", "confirm": "confirmed by a supervisor", "reject": "rejected",
    "retest": "re-test requested", "reopen": "re-opened",
    "open": "open", "proposed": "confirmation proposed", "confirmed": "confirmed", "rejected": "rejected",
    "reopened": "re-opened", "retracted": "retracted",
    "n_rows": "rows in the export", "n_landed": "rows landed", "n_untyped": "rows untyped",
    "n_quarantined": "rows quarantined", "n_warnings": "warnings", "n_samples_landed": "samples landed",
    "n_genotypes_added": "genotypes added", "already_ingested": "already imported before", "file_id": "batch id",
    "evidence": "evidence page", "case_report": "case report", "pick_list": "pick-list",
    "full_sibling": "full sibling", "paternal_half_sibling": "paternal half sibling",
    "maternal_half_sibling": "maternal half sibling", "paternal_grandfather": "paternal grandfather",
    "paternal_grandmother": "paternal grandmother", "maternal_grandfather": "maternal grandfather",
    "maternal_grandmother": "maternal grandmother", "paternal_aunt_uncle": "father's brother or sister",
    "maternal_aunt_uncle": "mother's brother or sister",
    "support": "support", "flagged": "flagged for review",
}

ZH = {
    "%(n)s inconsistent": "%(n)s 个不符合",
    "%(n)s pairs": "共 %(n)s 对",
    "%(n)s quarantined": "拦截 %(n)s 条",
    "%(n)s quarantined records": "共 %(n)s 条拦截记录",
    "A confirmation must first be proposed by a case manager.": "确认须先由案件管理员提出。",
    "A confirmation needs two people: you proposed it, another supervisor must confirm it.":
        "确认须由两人完成：该确认由您提出，须由另一名审核人确认。",
    "Active": "启用", "Add": "添加", "Add a user": "添加用户", "Audit": "审计",
    "Back to the evidence": "返回证据页",
    "Based on the available material and the DNA results, the tested couple are supported as the biological parents of the child.":
        "依据现有资料和DNA分析结果，支持被检父母是孩子的生物学父母。",
    "Based on the available material and the DNA results, the tested man is supported as the biological father of the child.":
        "依据现有资料和DNA分析结果，支持被检父是孩子的生物学父亲。",
    "Based on the available material and the DNA results, the tested person is excluded as a biological parent of the child.":
        "依据现有资料和DNA分析结果，排除被检者是孩子的生物学亲代。",
    "Based on the available material and the DNA results, the tested relatives are excluded as biological relatives of the child.":
        "依据现有资料和DNA分析结果，排除被检亲属与孩子存在生物学亲缘关系。",
    "Based on the available material and the DNA results, the tested relatives are supported as biological relatives of the child.":
        "依据现有资料和DNA分析结果，支持被检亲属与孩子存在生物学亲缘关系。",
    "Based on the available material and the DNA results, the tested woman is supported as the biological mother of the child.":
        "依据现有资料和DNA分析结果，支持被检母是孩子的生物学母亲。",
    "Calibration": "校准", "Case manager": "案件管理员", "Case report (print)": "鉴定意见书（打印）",
    "Choose a registered lab and a format.": "请选择已登记的实验室和文件格式。",
    "A file is larger than 200 MB: split the batch.": "文件超过200 MB：请拆分批次。",
    "Code version": "程序版本", "Conclusion": "结论",
    "Conclusion under the GB/T 37223-2018 rules (support: CPI of at least 10,000; exclusion: 3 or more inconsistent loci or CPI below 0.0001). A screening result of the database: the confirming laboratory types the samples again before any report of record.":
        "依据GB/T 37223-2018规则得出的结论（支持：累计亲权指数（CPI）不小于10000；排除：3个及以上不符合遗传规律的基因座或CPI小于0.0001）。此为数据库筛查结果：出具正式鉴定意见前，须由复核实验室重新检测样本。",
    "Confirm (second person)": "确认（第二人）", "Confirming laboratory": "复核实验室", "Created by": "创建人",
    "Decision": "处理意见", "Decision history": "处理意见记录", "Decision status": "处理状态", "Decisions": "处理意见",
    "Every partner the latest run reported, strongest first.": "最近一次比对运行报告的全部比对对象，按证据强度排序。",
    "Evidence": "证据", "Export (CSV)": "导出（CSV）", "Export format": "导出文件格式", "Family": "寻亲家庭",
    "Family kind": "家庭类型", "Family's posterior": "家庭的后验概率",
    "Filled: typed relative; red: the missing child (the candidate under H1); square male, circle female, diamond unknown.":
        "实心：已检测的亲属；红色：失踪儿童（H1下即比对候选）；方形为男性，圆形为女性，菱形为性别不详。",
    "Filter": "筛选", "Fix": "处理方法", "Flags": "标记", "Form expired": "表单已失效",
    "Give a reason for the decision.": "请填写处理意见的理由。",
    "H1: the candidate is the biological child of the tested parent(s) of this family.":
        "H1：疑似被拐儿童是该家庭被检父母（一方或双方）的生物学子女。",
    "H1: the candidate is the missing child of this family, related to each typed relative as the pedigree shows.":
        "H1：疑似被拐儿童是该家庭的失踪儿童，与各已检测亲属的亲缘关系如家系图所示。",
    "H2: the candidate is unrelated to the tested parent(s) of this family.": "H2：疑似被拐儿童与该家庭被检父母无亲缘关系。",
    "H2: the candidate is unrelated to this family's typed relatives.": "H2：疑似被拐儿童与该家庭已检测亲属无亲缘关系。",
    "Hypotheses": "假设", "Import": "导入", "Inconsistent": "不符合", "Inconsistent loci": "不符合遗传规律的基因座",
    "Joint one-to-one posterior": "一对一联合后验概率", "Lab export": "实验室导出文件", "Laboratory": "实验室",
    "Language": "语言", "Line": "行", "Loci": "基因座", "Loci compared": "比较的基因座",
    "Loci or relatives to type (re-test)": "需补充检测的基因座或亲属（补充检测）", "Locked until": "锁定至",
    "Locus": "基因座", "Login": "登录名",
    "Logins are pseudonymous ASCII ids, never a person's name.": "登录名为化名ASCII编号，不得使用真实姓名。",
    "Lower bound of the posterior": "后验概率下限", "Match run": "比对运行",
    "Match run %(run)s, finished %(when)s UTC; frequency table %(table)s.":
        "比对运行 %(run)s，完成于 %(when)s（UTC）；等位基因频率表 %(table)s。",
    "Mutation model": "突变模型",
    "Name the loci or relatives to type for the re-test.": "请写明补充检测需检测的基因座或亲属。",
    "No decision yet.": "尚无处理意见。", "No match run yet: run scripts/flow match.": "尚无比对运行：请运行 scripts/flow match。",
    "No partner reported.": "无报告的比对对象。", "No such pair in the latest run.": "最近一次比对运行中没有该比对对。",
    "No such upload.": "没有该上传。", "Not allowed": "无权访问", "Not found": "未找到",
    "Only a supervisor may confirm a pair.": "只有审核人可以确认比对对。",
    "Only a supervisor may re-open a pair.": "只有审核人可以重新开启比对对。",
    "Order: posterior probability after database size, then the likelihood ratio. Verbal scale: ENFSI guideline for evaluative reporting (2015) bands, a secondary reading; the GB/T 37223-2018 conclusion governs where they differ (ENFSI calls an LR of 1,000 to 10,000 strong support where GB/T says inconclusive).":
        "排序：先按考虑库容后的后验概率，再按似然比（LR）。文字等级：ENFSI评价性报告指南（2015）的等级，仅作辅助参考；两者不一致时以GB/T 37223-2018结论为准（LR在1000至10000之间时ENFSI称“强支持”，而GB/T结论为不确定）。",
    "Page": "页面", "Pair": "比对对", "Password": "密码", "Pedigree": "家系", "Per-locus evidence": "各基因座证据",
    "Pick-list (CSV)": "送检清单（CSV）", "Posterior after database size": "考虑库容后的后验概率", "Prefect flow run": "Prefect 流程运行",
    "Print this page (one page) for the confirming laboratory.": "打印本页（一页）交复核实验室。",
    "Printed by %(who)s on %(when)s UTC.": "由 %(who)s 于 %(when)s（UTC）打印。",
    "Propose confirmation (a supervisor confirms)": "提出确认（由审核人确认）", "Quarantine": "拦截记录",
    "Re-open": "重新开启", "Re-opened:": "已重新开启：", "Re-test": "补充检测", "Reads of evidence": "证据查阅记录",
    "Reason": "理由", "Record decision": "记录处理意见", "Reject": "否定", "Request a re-test": "要求补充检测",
    "Reunite workbench": "Reunite 工作台", "Review queue": "待复核列表", "Role": "角色", "Rule": "规则", "Run": "比对运行",
    "Sample id": "样本编号", "Sample id, locus or rule": "样本编号、基因座或规则", "Sample or family id": "样本或家庭编号",
    "See the quarantined records": "查看拦截记录", "Sign in": "登录", "Sign out": "退出登录", "Supervisor": "审核人",
    "Switch language": "切换语言",
    "The DNA results do not allow a conclusion; type more loci or further relatives.":
        "现有DNA分析结果不能得出明确结论，建议增加检测基因座或补充亲属样本。",
    "The form expired; try again.": "表单已失效，请重试。",
    "The form's security token did not match; reload the page and try again.": "表单安全令牌不匹配，请刷新页面后重试。",
    "The import runs in the background; the next page shows its progress and summary.": "导入在后台进行；下一页显示进度和汇总。",
    "The latest run did not keep this pair (below the reporting threshold and not among either side's best): the per-locus detail is shown, no decision can be taken.":
        "最近一次比对运行未保留该比对对（低于报告阈值，且不在任何一方的最佳结果中）：仅显示各基因座明细，不能记录处理意见。",
    "The latest run did not keep this pair: decide on a pair of the latest run.": "最近一次比对运行未保留该比对对：请对最近一次运行中的比对对记录处理意见。",
    "The likelihood ratio of H1 against H2 is the kinship index (KI): this family has no parent on file, so it is not a paternity index.":
        "H1相对H2的似然比为亲缘关系指数（KI）：该家庭没有在库的父母，因此不是亲权指数。",
    "The likelihood ratio of H1 against H2 is the paternity index (PI) per locus and their product the CPI.":
        "H1相对H2的似然比在各基因座为亲权指数（PI），其乘积为累计亲权指数（CPI）。",
    "The store changed since this run (its effective frequency table differs): the per-locus values are those of the store now; run scripts/flow match for values of record.":
        "该比对运行后数据库已变化（有效频率表不同）：各基因座数值按当前数据库计算；如需正式数值请运行 scripts/flow match。",
    "This pair's profiles changed since the run (loci or relatives typed since): the per-locus rows are those of the store now; the next match run re-scores the pair.":
        "该比对运行后该比对对的DNA分型已变化（此后检测了更多基因座或亲属）：各基因座明细按当前数据库计算；下一次比对运行将重新计算该比对对。",
    "This pair is already open.": "该比对对已处于待处理状态。",
    "This pair is confirmed; a supervisor must re-open it first.": "该比对对已确认；须先由审核人重新开启。",
    "This pair's batch was retracted: no new decision can be taken on it.": "该比对对所属批次已撤回：不能再记录新的处理意见。",
    "Too many failed sign-ins: this account is locked for 15 minutes.": "登录失败次数过多：该账户已锁定15分钟。",
    "Total": "合计", "Unknown decision.": "未知的处理意见。", "Upload": "上传", "Upload a batch": "上传批次",
    "Upload and import": "上传并导入", "Users": "用户", "Value": "值", "Verbal scale (ENFSI)": "文字等级（ENFSI）",
    "When (UTC)": "时间（UTC）", "Who": "操作人", "With Y-STR": "含Y染色体STR（Y-STR）",
    "Wrong login or password.": "登录名或密码错误。", "Your role does not give access to this page.": "您的角色无权访问此页面。",
    "Your role may not decide on pairs.": "您的角色不能对比对对记录处理意见。",
    "all": "全部", "allele %(a)s can come from neither parent": "等位基因 %(a)s 不可能来自父母任何一方",
    "allele frequency": "等位基因频率", "allele frequency table": "等位基因频率表",
    "alleles %(a)s cannot come one from each parent": "等位基因 %(a)s 不可能分别来自父亲和母亲",
    "already_ingested": "此前已导入", "auditor": "审计员", "batch": "批次", "both": "双方", "candidate": "疑似被拐儿童（比对候选）",
    "case report": "鉴定意见书（个案报告）", "case_manager": "案件管理员", "case_report": "鉴定意见书",
    "child already confirmed elsewhere": "该儿童已与其他家庭确认", "child supported for two families": "该儿童被支持与两个家庭相关",
    "combined paternity index (CPI)": "累计亲权指数（CPI）", "confirm": "审核人确认", "confirmed": "已确认",
    "conflict flags only": "仅显示冲突标记", "couple": "父母双方", "done": "已完成", "evidence": "证据页",
    "excluded": "排除", "extremely strong support": "极强支持", "failed": "失败",
    "family already reunited": "该家庭已团聚", "family supported for two children": "该家庭被支持与两名儿童相关",
    "father": "父亲", "father only": "仅父亲", "fewer loci compared (%(then)s then, %(now)s now)": "比较的基因座减少（此前 %(then)s 个，现在 %(now)s 个）",
    "file_id": "批次编号", "flagged": "需复核", "full_sibling": "全同胞",
    "inconclusive: type more loci": "不确定：建议增加检测基因座",
    "inconclusive: type more loci or more relatives (a parent helps most: scripts/flow power)":
        "不确定：建议增加检测基因座或补充亲属样本（补充父母一方最有效：scripts/flow power）",
    "inconclusive: type more loci or the other parent": "不确定：建议增加检测基因座或检测另一方父母",
    "kinship index (KI)": "亲缘关系指数（KI）", "lab_staff": "实验室人员", "linkage factor": "连锁校正因子",
    "male rate %(m)s, female rate %(f)s per meiosis": "男性突变率 %(m)s，女性突变率 %(f)s（每次减数分裂）",
    "maternal_aunt_uncle": "母亲的兄弟姐妹（舅舅、姨妈）", "maternal_grandfather": "外祖父", "maternal_grandmother": "外祖母",
    "maternal_half_sibling": "同母异父半同胞", "missing child": "失踪儿童", "moderate support": "中等支持",
    "moderately strong support": "较强支持", "more loci compared (%(then)s then, %(now)s now)": "比较的基因座增加（此前 %(then)s 个，现在 %(now)s 个）",
    "mother": "母亲", "mother only": "仅母亲", "n_genotypes_added": "新增基因型", "n_landed": "已入库行数",
    "n_quarantined": "拦截行数", "n_rows": "导出文件行数", "n_samples_landed": "入库样本数", "n_untyped": "未分型行数",
    "n_warnings": "警告数", "neither": "任何一方", "neither of %(a)s can come from the %(who)s (%(g)s)": "%(a)s 均不可能来自%(who)s（%(g)s）",
    "new": "新增", "new since the last run": "上次比对后新增", "next page": "下一页", "no": "否",
    "no support either way": "不支持任何一方", "one-to-one assignment conflict": "一对一分配冲突", "open": "待处理",
    "page %(page)s of %(pages)s": "第 %(page)s 页，共 %(pages)s 页", "parent + relatives": "父母一方及其他亲属",
    "paternal_aunt_uncle": "父亲的兄弟姐妹（伯父、叔父、姑姑）", "paternal_grandfather": "祖父", "paternal_grandmother": "祖母",
    "paternal_half_sibling": "同父异母半同胞", "pedigree": "家系", "pick_list": "送检清单", "previous page": "上一页",
    "propose_confirm": "提出确认", "proposed": "已提出确认", "queued": "排队中", "reason": "拦截原因",
    "reference sample": "参照样本", "reject": "否定", "rejected": "已否定",
    "relative chance of paternity (RCP; posterior at prior 0.5)": "父权相对机会（RCP）",
    "One pair alone, at a prior of 0.5, as the standard reports it: not the chance that this is the child's "
    "family. Read the posterior after database size below.":
        "仅就这一对、按先验概率0.5计算，为标准规定的报告方式；并非该儿童属于此家庭的概率。请参阅下方考虑库容后的后验概率。",
    "relative chance of the relationship (posterior at prior 0.5)": "亲缘关系相对机会（先验概率0.5时的后验概率）", "relatives": "其他亲属",
    "reopen": "重新开启", "reopened": "已重新开启", "retest": "要求补充检测", "retracted": "已撤回", "running": "进行中",
    "sample manifest": "样本清单", "siblings": "同胞", "strong support": "强支持", "supervisor": "审核人", "support": "支持",
    "supports parentage: send for lab confirmation": "支持亲权关系：送实验室复核确认",
    "supports the relationship: send for lab confirmation": "支持亲缘关系：送实验室复核确认",
    "supports unrelated": "支持无亲缘关系",
    "the candidate over every family on file and none on file": "该儿童相对库中所有家庭及“不在库”的后验概率",
    "the candidate's profile changed (loci typed since)": "疑似被拐儿童的DNA分型已变化（此后检测了更多基因座）",
    "the family over every candidate on file": "该家庭相对库中所有疑似被拐儿童的后验概率",
    "the family's references changed (relatives or loci typed since)": "该家庭的参照样本已变化（此后检测了更多亲属或基因座）",
    "very strong support": "很强支持", "weak support": "弱支持", "yes": "是",
}
