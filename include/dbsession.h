/**
 * @file dbsession.h
 * @brief Umbrella header: include this one.
 */
#ifndef DBSESSION_H
#define DBSESSION_H

#include "dbsession/common.h"
#include "dbsession/status.h"
#include "dbsession/error.h"
#include "dbsession/session.h"
#include "dbsession/stmt.h"
#include "dbsession/model.h"
#include "dbsession/uow.h"
#include "dbsession/txn.h"
#include "dbsession/batch.h"

#endif
